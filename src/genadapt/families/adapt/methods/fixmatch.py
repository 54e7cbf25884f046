"""FixMatch (Sohn et al. 2020, "FixMatch: Simplifying Semi-Supervised Learning with Consistency and
Confidence", https://arxiv.org/abs/2001.07685) as an unsupervised domain-adaptation method, the way
AdaMatch (Berthelot et al. 2022, https://arxiv.org/abs/2106.04732) uses it as its baseline: the
labelled source and the unlabelled target in one batch, and on each target image

- a pseudo-label from the network's own prediction on a weakly augmented view (a translation of
  up to 2 pixels), kept when its confidence is >= ``threshold`` (0.95);
- cross-entropy of the network's prediction on a strongly augmented view of the same image (colour
  per channel, intensity flip, translation, Gaussian noise) against that label, weight ``weight`` (1);
- with ``zoom`` > 1 (not in the paper; 1 by default), both views and the labelled source batch are
  also scaled at random, which closes the gap between digits that fill their frame (USPS) and
  digits drawn smaller (MNIST, MNIST-M).
- with ``distribution_alignment`` (off by default), the weak view's probabilities are first divided by
  a running mean of the network's target predictions and renormalised (ReMixMatch's distribution
  alignment, Berthelot et al. 2020, https://arxiv.org/abs/1911.09785, toward a uniform class prior;
  AdaMatch aligns toward the source's): a network that over-predicts some classes on the target
  hands out fewer of their pseudo-labels.

No teacher network and no domain classifier: the model that predicts is the model trained and
tested. The paper's optimiser: SGD with Nesterov momentum 0.9, weight decay 5e-4, learning rate
0.03 with the cosine decay lr cos(7 pi p / 16) over training progress p.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genadapt.families.adapt.methods.self_ensembling import small_image_augment
from genadapt.families.adapt.shared.method import Method


class TheModelItself(nn.Module):
    """FixMatch's 'teacher' is the network being trained: it labels the weak views and is what is tested.
    It also keeps the running mean of its target predictions (K,) that distribution alignment divides by
    (a buffer, so a checkpoint resumes it)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.module = model
        n_classes = model.label_head.out_features
        self.register_buffer("target_prediction_mean", torch.full((n_classes,), 1.0 / n_classes))

    def update_parameters(self, model: nn.Module) -> None:
        """Nothing to average: the predictions come from the current weights."""


def strong_view(x: torch.Tensor, generator: torch.Generator, zoom: float = 1.0) -> torch.Tensor:
    """FixMatch's strong view of (B, C, S, S) digits: colour per channel, intensity flip, a translation
    of up to 2 pixels (and a scale within [1/zoom, zoom]) and Gaussian noise
    (self_ensembling.small_image_augment) -> same shape."""
    return small_image_augment(x, generator, translate=2.0, noise=0.1, intensity_flip=True, per_channel=True, zoom=zoom)


def align_distribution(probs: torch.Tensor, running_mean: torch.Tensor, decay: float = 0.99) -> torch.Tensor:
    """Probabilities (B, K) divided by the running mean of the predictions (K,) and renormalised; the
    running mean is first updated in place with the batch's mean (decay 0.99: about the last 100
    batches, ReMixMatch's 128). While the running mean stays uniform they are left as they are."""
    running_mean.mul_(decay).add_(probs.mean(0), alpha=1.0 - decay)
    aligned = probs / running_mean
    return aligned / aligned.sum(1, keepdim=True)


def pseudo_label_loss(strong_logits: torch.Tensor, weak_probs: torch.Tensor, threshold: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean over the batch of the confident images' cross-entropy against the weak view's argmax,
    the confident mask (B,)) for logits (B, K) and probabilities (B, K)."""
    confidence, pseudo = weak_probs.max(1)
    confident = (confidence >= threshold).float()
    return (F.cross_entropy(strong_logits, pseudo, reduction="none") * confident).mean(), confident


@dataclass(frozen=True)
class FixMatch(Method):
    threshold: float = 0.95
    weight: float = 1.0
    lr: float = 0.03
    weight_decay: float = 5.0e-4
    # > 1: every view scaled by a factor within [1/zoom, zoom], and the labelled source (otherwise
    # unaugmented) scaled so and shifted by up to 2 pixels, for pairs whose digits fill their frames differently (USPS against MNIST-M).
    zoom: float = 1.0
    distribution_alignment: bool = False

    def make_optimizer(self, model, cfg):
        return torch.optim.SGD(model.parameters(), lr=self.lr, momentum=0.9, nesterov=True, weight_decay=self.weight_decay)

    def learning_rate(self, progress, cfg):
        return self.lr * math.cos(7 * math.pi * progress / 16)

    def source_view(self, xs, generator):
        if self.zoom == 1.0:
            return xs
        return small_image_augment(xs, generator, translate=2.0, noise=0.0, intensity_flip=False, intensity=False, zoom=self.zoom)

    def make_teacher(self, model, cfg):
        return TheModelItself(model)

    def target_view(self, xt, teacher, generator):
        weak = small_image_augment(xt, generator, translate=2.0, noise=0.0, intensity_flip=False, zoom=self.zoom)
        with torch.no_grad():
            weak_probs = F.softmax(teacher.module(weak)[1], dim=1)  # (B, K)
            if self.distribution_alignment:
                weak_probs = align_distribution(weak_probs, teacher.target_prediction_mean)
        return strong_view(xt, generator, self.zoom), weak_probs

    def domain_loss(self, model, features, logits, domain_logits, domain_target, n_source, lam):
        return torch.zeros((), device=logits.device)  # no domain classifier

    def target_loss(self, target_logits, weak_probs, cfg, lam, class_balance):
        loss, confident = pseudo_label_loss(target_logits, weak_probs, self.threshold)
        return self.weight * loss, {"loss_pseudo_label": loss.item(), "confident_fraction": confident.mean().item()}


METHOD = FixMatch("fixmatch", adapts=True)
