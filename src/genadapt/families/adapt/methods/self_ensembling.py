"""Self-ensembling (French, Mackiewicz & Fisher 2018, "Self-ensembling for visual domain
adaptation", ICLR, https://arxiv.org/abs/1706.05208), the full small-image recipe.

- A mean teacher (Tarvainen & Valpola 2017): an exponential moving average (``ema`` 0.99) of the
  student's weights; the teacher is the model tested.
- Source and target batches go through the network separately, so BatchNorm normalises each
  domain with its own statistics (the paper's "separate source and target batches").
- Both networks see randomly augmented views (the paper's small-image augmentation): a
  translation of up to ``translate`` pixels, intensity scale U(0.25, 1.5), offset U(-0.5, 0.5)
  and, with ``intensity_flip``, inversion with probability 1/2, then Gaussian noise of std
  ``noise`` 0.1. Student and teacher get independent views of each target image.
- Unsupervised loss: the squared difference between student and teacher class probabilities,
  counted only where the teacher's confidence is >= ``threshold`` (0.968), weight ``weight`` 3.
- Class balance: binary cross-entropy between the student's mean target prediction and the
  uniform prior, times the fraction of confident images, weight ``class_balance`` 0.005.
- Adam, learning rate 1e-3, constant; no domain classifier.

The paper reports (its networks, 200 epochs on a GPU): MNIST -> USPS 98.3%, USPS -> MNIST 98.1%,
SVHN -> MNIST 99.2%.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from genadapt.families.adapt.shared.method import Method


def small_image_augment(x: torch.Tensor, generator: torch.Generator, translate: float, noise: float,
                        intensity_flip: bool, per_channel: bool = False, intensity: bool = True,
                        zoom: float = 1.0) -> torch.Tensor:
    """French et al.'s augmentation of (B, C, S, S) images in [0, 1] -> same shape (not clamped).
    ``per_channel``: the intensity scale and offset are drawn per colour channel, which gives grey
    digits colours (a domain-appropriate view for a coloured target such as MNIST-M); ``intensity``
    False leaves scale and offset out. ``zoom`` > 1: each image also scaled by a factor drawn
    log-uniformly from [1/zoom, zoom] (digits drawn at other sizes: USPS fills its frame, MNIST does not)."""
    b, _, size, _ = x.shape
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, :, 2] = (torch.rand(b, 2, generator=generator) * 2 - 1) * translate * 2 / size  # pixels -> [-1, 1] units
    if zoom != 1.0:  # no draw otherwise, so views without zoom stay as they were
        factor = torch.exp((torch.rand(b, generator=generator) * 2 - 1) * math.log(zoom))  # (B,)
        theta[:, 0, 0] = theta[:, 1, 1] = 1.0 / factor  # sampling a smaller window enlarges the digit
    grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    if intensity_flip:
        flip = (torch.rand(b, 1, 1, 1, generator=generator) < 0.5).to(x.device)
        x = torch.where(flip, 1.0 - x, x)
    if not intensity:
        return x + noise * torch.randn(x.shape, generator=generator).to(x.device)
    c = x.shape[1] if per_channel else 1
    scale = (0.25 + 1.25 * torch.rand(b, c, 1, 1, generator=generator)).to(x.device)
    offset = (torch.rand(b, c, 1, 1, generator=generator) - 0.5).to(x.device)
    x = x * scale + offset
    return x + noise * torch.randn(x.shape, generator=generator).to(x.device)


def consistency_loss(student_logits: torch.Tensor, teacher_probs: torch.Tensor, threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean over the batch of the confident images' squared probability difference, the confident mask (B,))."""
    squared = ((F.softmax(student_logits, dim=1) - teacher_probs) ** 2).sum(1)  # (B,)
    confident = (teacher_probs.max(1).values >= threshold).float()
    return (squared * confident).mean(), confident


def balance_loss(student_logits: torch.Tensor) -> torch.Tensor:
    """BCE between each class's mean predicted probability over the batch and 1/K, summed over the K classes."""
    mean_probs = F.softmax(student_logits, dim=1).mean(0).clamp(1e-6, 1 - 1e-6)  # (K,)
    prior = torch.full_like(mean_probs, 1.0 / mean_probs.numel())
    return F.binary_cross_entropy(mean_probs, prior, reduction="sum")


@dataclass(frozen=True)
class SelfEnsembling(Method):
    ema: float = 0.99
    threshold: float = 0.968
    weight: float = 3.0
    class_balance: float = 0.005
    lr: float = 1.0e-3
    translate: float = 2.0  # pixels
    noise: float = 0.1
    intensity_flip: bool = True
    per_channel: bool = False  # colour views: intensity scale and offset per channel (off in the paper)

    def make_optimizer(self, model, cfg):
        return torch.optim.Adam(model.parameters(), lr=self.lr)

    def learning_rate(self, progress, cfg):
        return self.lr

    def _augment(self, x, generator):
        return small_image_augment(x, generator, self.translate, self.noise, self.intensity_flip, self.per_channel)

    def source_view(self, xs, generator):
        return self._augment(xs, generator)

    def forward(self, model, xs, xt, lam):
        source, target = model(xs, lam), model(xt, lam)  # BatchNorm: each domain's own batch statistics
        return tuple(torch.cat([s, t]) for s, t in zip(source, target))

    def make_teacher(self, model, cfg):
        return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(self.ema), use_buffers=True)

    def target_view(self, xt, teacher, generator):
        teacher_view = self._augment(xt, generator)
        with torch.no_grad():
            teacher_probs = F.softmax(teacher.module(teacher_view)[1], dim=1)  # (B, K)
        return self._augment(xt, generator), teacher_probs

    def domain_loss(self, model, features, logits, domain_logits, domain_target, n_source, lam):
        return torch.zeros((), device=logits.device)  # no domain classifier

    def target_loss(self, target_logits, teacher_probs, cfg, lam, class_balance):
        loss_consistency, confident = consistency_loss(target_logits, teacher_probs, self.threshold)
        loss_balance = balance_loss(target_logits) * confident.mean()
        row = {"loss_consistency": loss_consistency.item(), "loss_class_balance": loss_balance.item(),
               "confident_fraction": confident.mean().item()}
        return self.weight * loss_consistency + self.class_balance * loss_balance, row


METHOD = SelfEnsembling("self_ensembling", adapts=True)
