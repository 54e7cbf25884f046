"""SNGAN (Miyato et al. 2018, "Spectral Normalization for Generative Adversarial Networks",
https://arxiv.org/abs/1802.05957): every weight of D divided by its largest singular value
(one power iteration per forward), so D is 1-Lipschitz per layer without a gradient penalty,
and the hinge loss (Lim & Ye 2017; Miyato et al.'s best):

- D: E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]
- G: -E[D(G(z))]

The paper's "standard CNN" setting C (Adam lr 2e-4, betas (0.5, 0.999), one D step per G step),
the DCGAN trunk of this family with D's batch norms removed (spectral norm replaces them), no
soft or noisy labels and no instance noise. Optional R1 (Mescheder et al. 2018, "Which Training
Methods for GANs do actually Converge?"): ``r1_gamma`` / 2 * E||grad_x D(x)||^2 on real images.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from genadapt.core.params import Probability, real
from genadapt.families.gan.shared.kind import DiscriminatorBatch, DiscriminatorResult, GANKind
from genadapt.families.gan.shared.model import GANConfig
from genadapt.families.gan.shared.params import GANParams


class SNGANParams(GANParams):
    kind: Literal["sngan"]
    lr_g: real(gt=0.0) = 2.0e-4
    lr_d: real(gt=0.0) = 2.0e-4
    beta1: real(ge=0.0, lt=1.0) = 0.5
    beta2: real(ge=0.0, lt=1.0) = 0.999
    r1_gamma: real(ge=0.0) = 0.0  # R1 penalty weight on real images; 0 = off
    real_label: tuple[Probability, Probability] = (1.0, 1.0)  # unused: the hinge loss has no targets
    fake_label: tuple[Probability, Probability] = (0.0, 0.0)
    label_flip: Probability = 0.0
    instance_noise: real(ge=0.0) = 0.0


def spectrally_normalised(D: nn.Module) -> nn.Module:
    """D with every BatchNorm2d removed and every Conv2d / Linear weight spectrally normalised."""
    for i, layer in enumerate(D.trunk):
        if isinstance(layer, nn.BatchNorm2d):
            D.trunk[i] = nn.Identity()
    for module in list(D.modules()):
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            spectral_norm(module)
    return D


class SNGAN(GANKind):
    name = "sngan"
    Params = SNGANParams
    loss_columns = GANKind.loss_columns + ("r1",)

    def discriminator(self, net_cfg: GANConfig) -> nn.Module:
        return spectrally_normalised(super().discriminator(net_cfg))

    def discriminator_step(self, b: DiscriminatorBatch) -> DiscriminatorResult:
        with b.autocast:
            with torch.no_grad():
                fake = b.G(b.to_device(b.latent.vector))  # (B, C, S, S)
        seen = b.d_view(b.real)
        if b.cfg.r1_gamma:
            seen = seen.detach().requires_grad_(True)  # R1 differentiates D at the images it sees
        with b.autocast:
            out_r, out_f = b.D(seen), b.D(b.d_view(fake))
        loss = hinge_d_loss(out_r["adv"].float(), out_f["adv"].float())
        logged = {}
        if b.cfg.r1_gamma:
            grad, = torch.autograd.grad(out_r["adv"].float().sum(), seen, create_graph=True)  # (B, C, S, S)
            r1 = grad.float().pow(2).flatten(1).sum(1).mean()
            loss = loss + b.cfg.r1_gamma / 2 * r1
            logged["r1"] = r1.item()
        loss.backward()
        return DiscriminatorResult(loss.detach(), out_r, out_f, b.conditions, logged)

    def generator_adversarial_loss(self, out: dict) -> torch.Tensor:
        return -out["adv"].float().mean()

    def d_summary(self, last_d: DiscriminatorResult) -> dict[str, float]:
        """Mean D scores of the real and fake batches (hinge margins at +1 and -1)."""
        return {"d_real": last_d.out_real["adv"].float().mean().item(), "d_fake": last_d.out_fake["adv"].float().mean().item(),
                **last_d.logged}


def hinge_d_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """E[relu(1 - D(x))] + E[relu(1 + D(G(z)))] for scores (B,) and (B,)."""
    return F.relu(1.0 - real_scores).mean() + F.relu(1.0 + fake_scores).mean()


KIND = SNGAN()
