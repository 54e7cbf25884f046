"""WGAN-GP (Gulrajani et al. 2017, https://arxiv.org/abs/1704.00028): a critic scores realism,
G and the critic play the Wasserstein game, and a gradient penalty keeps the critic 1-Lipschitz.

The paper's recipe: critic loss E[D(G(z))] - E[D(x)] + gp_weight * E[(||grad D(x_hat)||_2 - 1)^2]
on random interpolates x_hat of real and fake images, gp_weight 10, n_critic = 5 critic updates
per G update (``d_steps``), Adam(lr 1e-4, betas (0, 0.9)), and no batch norm in the critic
(the penalty is per sample): the DCGAN discriminator's batch norms become layer norms
(GroupNorm with one group, as the paper suggests). No soft/noisy labels and no instance noise.
The curves' ``d_real`` / ``d_fake`` are mean critic scores here, not probabilities.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from genadapt.core.params import Probability, count, real
from genadapt.families.gan.shared.kind import DiscriminatorBatch, DiscriminatorResult, GANKind
from genadapt.families.gan.shared.model import GANConfig
from genadapt.families.gan.shared.params import GANParams


class WGANGPParams(GANParams):
    kind: Literal["wgan-gp"]
    gp_weight: real(ge=0.0) = 10.0  # lambda of the gradient penalty
    d_steps: count(ge=1) = 5  # n_critic
    lr_g: real(gt=0.0) = 1.0e-4
    lr_d: real(gt=0.0) = 1.0e-4
    beta1: real(ge=0.0, lt=1.0) = 0.0
    beta2: real(ge=0.0, lt=1.0) = 0.9
    real_label: tuple[Probability, Probability] = (1.0, 1.0)  # unused: the critic has no targets
    fake_label: tuple[Probability, Probability] = (0.0, 0.0)
    label_flip: Probability = 0.0
    instance_noise: real(ge=0.0) = 0.0
    steps: count(ge=1) = 500  # G updates (x5 critic updates); eval_every 100 so the best of five is kept
    eval_every: count(ge=0) = 100
    checkpoint_every: count(ge=0) = 100


class WGANGP(GANKind):
    name = "wgan-gp"
    Params = WGANGPParams
    loss_columns = GANKind.loss_columns + ("gradient_penalty",)

    def discriminator(self, net_cfg: GANConfig) -> nn.Module:
        D = super().discriminator(net_cfg)
        for i, layer in enumerate(D.trunk):
            if isinstance(layer, nn.BatchNorm2d):
                D.trunk[i] = nn.GroupNorm(1, layer.num_features)  # layer norm over (C, H, W) of each sample
        return D

    def discriminator_step(self, b: DiscriminatorBatch) -> DiscriminatorResult:
        with b.autocast:
            with torch.no_grad():
                fake = b.G(b.to_device(b.latent.vector))  # (B, C, S, S)
            out_r, out_f = b.D(b.d_view(b.real)), b.D(b.d_view(fake))
        # Interpolates x_hat = a x + (1 - a) G(z), a ~ U(0, 1) per sample, and the critic's gradient there.
        alpha = torch.rand(len(b.real), 1, 1, 1, generator=b.generator).to(b.real.device)
        mixed = (alpha * b.real + (1 - alpha) * fake.float()).requires_grad_(True)
        with b.autocast:
            score = b.D(b.d_view(mixed))["adv"].float()  # the critic's view of x_hat, as of real and fake
        grad, = torch.autograd.grad(score.sum(), mixed, create_graph=True)  # (B, C, S, S)
        penalty = ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
        loss = out_f["adv"].float().mean() - out_r["adv"].float().mean() + b.cfg.gp_weight * penalty
        loss.backward()
        return DiscriminatorResult(loss.detach(), out_r, out_f, b.conditions, {"gradient_penalty": penalty.item()})

    def generator_adversarial_loss(self, out: dict) -> torch.Tensor:
        return -out["adv"].float().mean()

    def d_summary(self, last_d: DiscriminatorResult) -> dict[str, float]:
        """Mean critic scores of the real and fake batches (their gap estimates the Wasserstein distance)."""
        return {"d_real": last_d.out_real["adv"].float().mean().item(), "d_fake": last_d.out_fake["adv"].float().mean().item(),
                **last_d.logged}


KIND = WGANGP()
