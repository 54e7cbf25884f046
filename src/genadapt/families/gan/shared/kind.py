"""What a GAN kind supplies to the family's one loop: params, networks' extras and a loss head.

:class:`GANKind` is the standard (non-saturating, Goodfellow et al.) GAN with the course's tricks
for D: soft labels (targets drawn from ``real_label`` / ``fake_label``), noisy labels (targets
swapped with probability ``label_flip``), and instance noise and DiffAugment on D's inputs. Real and fake batches
go through D separately (their own batch-norm statistics, as in DCGAN), each with its own
backward so DistributedDataParallel reduces each forward's gradients. A kind overrides the hooks
it needs: extra loss terms (ACGAN's class head, InfoGAN's mutual information), or the whole
adversarial loss (WGAN-GP).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from genadapt.families.gan.shared.latent import Latent
from genadapt.families.gan.shared.model import Discriminator, GANConfig
from genadapt.families.gan.shared.params import GANParams


@dataclass(frozen=True)
class DiscriminatorBatch:
    """One D update's inputs."""

    D: nn.Module  # D as trained (DDP-wrapped under torchrun)
    G: nn.Module  # G, only to make fakes without gradient
    real: torch.Tensor  # (B, C, S, S) in [-1, 1] on the device, in the models' memory format
    latent: Latent  # G's inputs for the fakes (on the CPU)
    conditions: torch.Tensor | None  # (B,) class of each real image on the device (ACGAN), else None
    cfg: GANParams
    generator: torch.Generator  # the run's one seeded CPU generator
    d_view: Callable[[torch.Tensor], torch.Tensor]  # what D sees of a batch: this step's DiffAugment and instance noise
    to_device: Callable[[torch.Tensor], torch.Tensor]
    autocast: Any  # the run's mixed-precision context


@dataclass(frozen=True)
class DiscriminatorResult:
    loss: torch.Tensor  # detached total D loss
    out_real: dict[str, torch.Tensor]  # D's outputs on the real batch
    out_fake: dict[str, torch.Tensor]  # D's outputs on the fakes
    conditions: torch.Tensor | None
    logged: dict[str, float] = field(default_factory=dict)  # the kind's own per-step values for the curves


def _uniform(n: int, bounds, generator) -> torch.Tensor:
    low, high = bounds
    return low + (high - low) * torch.rand(n, generator=generator)


def soft_noisy_targets(n: int, cfg: GANParams, generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft, noisy targets for D: (real targets (n,), fake targets (n,))."""
    real, fake = _uniform(n, cfg.real_label, generator), _uniform(n, cfg.fake_label, generator)
    flip = torch.rand(n, generator=generator) < cfg.label_flip
    return torch.where(flip, fake, real), torch.where(torch.rand(n, generator=generator) < cfg.label_flip, real, fake)


class GANKind:
    """The standard GAN (DCGAN); subclasses are the other kinds."""

    name = "dcgan"
    Params: type[GANParams] = GANParams
    loss_columns: tuple[str, ...] = ("loss_d", "loss_g", "d_real", "d_fake")  # curves worth a plot
    figures: dict[str, str] = {"samples.png": "32 samples from the best EMA generator"}  # generate's files -> caption

    # --- params --------------------------------------------------------------------------
    def cross_check(self, cfg: GANParams, data) -> str | None:
        """A problem with the instance given the data section, as "<key>: <message>", or None."""
        return None

    # --- data and networks ---------------------------------------------------------------
    def conditions(self, cfg: GANParams, split) -> tuple[np.ndarray | None, int]:
        """(class of each training image (N,) or None, number of classes) for a prepared split."""
        return None, 0

    def net_config(self, cfg: GANParams, n_classes: int) -> GANConfig:
        return GANConfig(image_size=cfg.image_size, channels=cfg.channels, nz=cfg.nz, ngf=cfg.ngf, ndf=cfg.ndf)

    def discriminator(self, net_cfg: GANConfig) -> nn.Module:
        return Discriminator(net_cfg)

    # --- losses --------------------------------------------------------------------------
    def discriminator_step(self, b: DiscriminatorBatch) -> DiscriminatorResult:
        """D's loss on a real batch and on fakes; runs the backward passes (not the optimiser step)."""
        device = b.real.device
        t_real, t_fake = soft_noisy_targets(len(b.real), b.cfg, b.generator)
        with b.autocast:
            with torch.no_grad():
                fake = b.G(b.to_device(b.latent.vector))  # (B, C, S, S)
            out_r = b.D(b.d_view(b.real))
            loss_real = F.binary_cross_entropy_with_logits(out_r["adv"].float(), t_real.to(device))
            extra = self.d_real_terms(b, out_r)
            if extra is not None:
                loss_real = loss_real + extra
        loss_real.backward()
        with b.autocast:
            out_f = b.D(b.d_view(fake))
            loss_fake = F.binary_cross_entropy_with_logits(out_f["adv"].float(), t_fake.to(device))
            extra = self.d_fake_terms(b, out_f)
            if extra is not None:
                loss_fake = loss_fake + extra
        loss_fake.backward()
        return DiscriminatorResult(loss_real.detach() + loss_fake.detach(), out_r, out_f, b.conditions)

    def d_real_terms(self, b: DiscriminatorBatch, out: dict) -> torch.Tensor | None:
        """Extra loss on D's outputs for the real batch (ACGAN's class head)."""
        return None

    def d_fake_terms(self, b: DiscriminatorBatch, out: dict) -> torch.Tensor | None:
        """Extra loss on D's outputs for the fakes."""
        return None

    def generator_adversarial_loss(self, out: dict) -> torch.Tensor:
        """G's adversarial loss: non-saturating, -log D(G(z))."""
        return F.binary_cross_entropy_with_logits(out["adv"].float(), torch.ones(len(out["adv"]), device=out["adv"].device))

    def g_terms(self, cfg: GANParams, out: dict, latent: Latent, last_d: DiscriminatorResult, row: dict) -> torch.Tensor | None:
        """Extra loss on D's outputs for G's fakes (the kind's head), recording what it logs in ``row``."""
        return None

    def d_summary(self, last_d: DiscriminatorResult) -> dict[str, float]:
        """D(x) and D(G(z)) as probabilities, averaged over the last D round's batches."""
        return {"d_real": torch.sigmoid(last_d.out_real["adv"]).mean().item(),
                "d_fake": torch.sigmoid(last_d.out_fake["adv"]).mean().item(), **last_d.logged}

    # --- generate and evaluate -----------------------------------------------------------
    def generated_columns(self, cfg: GANParams, latent: Latent) -> dict[str, np.ndarray]:
        """Columns of generated/<name>/images.csv beside image_id (ACGAN: the intended class)."""
        return {}

    def extra_figures(self, G: nn.Module, cfg: GANParams, seeded: torch.Generator, out: Path) -> None:
        """The kind's own figures (pairs, class grids, traversals) into ``out``."""

    def intended_correct(self, cfg: GANParams, evaluator, images: np.ndarray, classes: np.ndarray) -> np.ndarray | None:
        """Whether the evaluator reads each generated image (N, S, S, C) as its intended class (N,):
        (N,) bool for a conditional kind, None for the others."""
        return None

    def extra_metrics(self, cfg: GANParams, evaluator, generated: np.ndarray, table) -> dict[str, float]:
        """The kind's own metrics of the generated set (ACGAN: intended accuracy)."""
        return {}

    def metric_notes(self, cfg: GANParams) -> dict[str, str]:
        return {}
