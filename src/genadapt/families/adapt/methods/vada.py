"""VADA (Shu, Bui, Narui & Ermon 2018, "A DIRT-T Approach to Unsupervised Domain Adaptation",
https://arxiv.org/abs/1802.08735): DANN's domain-adversarial features plus two terms that push the
decision boundary away from the target's data (the cluster assumption):

- conditional entropy of the target predictions, weight ``target_weight`` (lambda_t, 0.01);
- virtual adversarial training (Miyato et al. 2018): the KL divergence between the prediction on an
  image and on the same image moved by ``radius`` in the direction that changes the prediction most
  (one power-iteration step from a random direction of norm 1e-6), on the target with weight
  ``target_weight`` and on the source with ``source_weight`` (lambda_s, 1);
- the domain term with the constant reversal weight ``domain_weight`` (lambda_d, 0.01): the
  discriminator learns at full strength, the features get 0.01 of its reversed gradient.

Adam (lr 1e-3, beta1 0.5), and the model tested is an exponential moving average of the weights
(decay 0.998), as in the authors' implementation (github.com/RuiShu/dirt-t, ``run_dirtt.py``
defaults). Its radius 3.5 is on images in [-1, 1]; ours are in [0, 1], so 1.75 is the same ball.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from genadapt.families.adapt.shared.method import Method


def conditional_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Mean entropy of the predicted distributions of logits (B, K): 0 when every prediction is
    certain, log K when every one is uniform."""
    return -(F.softmax(logits, 1) * F.log_softmax(logits, 1)).sum(1).mean()


def _unit(d: torch.Tensor) -> torch.Tensor:
    """Each image of d (B, C, S, S) scaled to L2 norm 1."""
    return d / d.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (d.dim() - 1)))


def adversarial_direction(model, x: torch.Tensor, probs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The unit perturbation (B, C, S, S) of x that most increases KL(probs || prediction), by one power
    iteration from a random direction of norm 1e-6 (the network's weights get no gradient from it)."""
    d = (1e-6 * _unit(torch.randn(x.shape, generator=generator))).to(x.device).requires_grad_(True)
    _, logits, _ = model(x + d)
    divergence = F.kl_div(F.log_softmax(logits, 1), probs, reduction="batchmean")
    (grad,) = torch.autograd.grad(divergence, d, allow_unused=True)  # None: a network that ignores its input
    return _unit(grad.detach()) if grad is not None else torch.zeros_like(x)


def vat_loss(model, x: torch.Tensor, logits: torch.Tensor, radius: float, generator: torch.Generator) -> torch.Tensor:
    """KL(prediction on x || prediction on x + radius * adversarial direction), the clean prediction
    (from ``logits`` (B, K)) held fixed."""
    probs = F.softmax(logits.detach(), 1)
    x_adv = (x + radius * adversarial_direction(model, x, probs, generator)).detach()
    _, logits_adv, _ = model(x_adv)
    return F.kl_div(F.log_softmax(logits_adv, 1), probs, reduction="batchmean")


@dataclass(frozen=True)
class VADA(Method):
    domain_weight: float = 0.01  # lambda_d
    source_weight: float = 1.0  # lambda_s: source VAT
    target_weight: float = 0.01  # lambda_t: target conditional entropy and VAT
    radius: float = 1.75  # the VAT ball, in units of images in [0, 1]
    lr: float = 1e-3
    beta1: float = 0.5
    ema: float = 0.998  # decay of the averaged weights that are tested

    def make_optimizer(self, model, cfg):
        return torch.optim.Adam(model.parameters(), lr=self.lr, betas=(self.beta1, 0.999))

    def learning_rate(self, progress, cfg):
        return self.lr

    def forward(self, model, xs, xt, lam):
        return model(torch.cat([xs, xt]), self.domain_weight)

    def make_teacher(self, model, cfg):
        return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(self.ema), use_buffers=True)

    def target_loss(self, target_logits, context, cfg, lam, class_balance):
        entropy = conditional_entropy(target_logits)
        return self.target_weight * entropy, {"loss_entropy": entropy.item()}

    def input_loss(self, model, xs, xt, logits, generator):
        n = len(xs)
        source = vat_loss(model, xs, logits[:n], self.radius, generator)
        target = vat_loss(model, xt, logits[n:], self.radius, generator)
        return self.source_weight * source + self.target_weight * target, {"loss_vat_source": source.item(),
                                                                            "loss_vat_target": target.item()}


METHOD = VADA("vada", adapts=True)
