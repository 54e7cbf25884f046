"""ACGAN (Odena et al. 2017): G(z, one-hot class); D(x) -> real/fake logit + class logits.

``condition`` is a face attribute (two classes) or ``label`` (the digit class, ten). D's class
head learns from real images; with ``aux_on_fake`` it also fits the fakes' intended classes (the
original ACGAN; README "GAN lab notes" for when each works better).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import Field

from genadapt.core.errors import PipelineError
from genadapt.core.params import DIGIT_DATASETS, Flag, real
from genadapt.families.gan.shared.kind import DiscriminatorBatch, DiscriminatorResult, GANKind
from genadapt.families.gan.shared.latent import Latent, generate_images, sample_latent
from genadapt.families.gan.shared.model import GANConfig
from genadapt.families.gan.shared.params import GANParams
from genadapt.figures import save_grid, uint8_batch
from genadapt.metrics.intervals import accuracy_with_interval


class ACGANParams(GANParams):
    kind: Literal["acgan"]
    condition: Annotated[str, Field(strict=True, min_length=1)]  # a face attribute (e.g. Smiling) or 'label' for digits
    aux_weight: real(ge=0.0) = 1.0  # weight of the auxiliary classification loss
    aux_on_fake: Flag = False  # also train D's class head on the fakes' intended classes (the original ACGAN)


class ACGAN(GANKind):
    name = "acgan"
    Params = ACGANParams
    loss_columns = GANKind.loss_columns + ("loss_aux_fake",)
    figures = GANKind.figures | {"pairs.png": "10 pairs from the same z: attribute off (top) and on (bottom)",
                                 "class_grid.png": "one row per class 0-9, 10 samples each"}

    def cross_check(self, cfg: ACGANParams, data) -> str | None:
        digits = cfg.dataset in DIGIT_DATASETS
        if digits != (cfg.condition == "label"):
            return (f"condition: {cfg.condition!r} does not fit dataset {cfg.dataset!r} "
                    "('label' for a digit dataset, an attribute such as Smiling for faces)")
        return None

    def conditions(self, cfg: ACGANParams, split) -> tuple[np.ndarray, int]:
        if cfg.condition == "label":
            if "label" not in split.table:
                raise PipelineError("condition 'label' needs a digit dataset; this one has attributes")
            return split.labels, 10
        return split.attribute(cfg.condition), 2

    def net_config(self, cfg: ACGANParams, n_classes: int) -> GANConfig:
        return GANConfig(image_size=cfg.image_size, channels=cfg.channels, nz=cfg.nz, ngf=cfg.ngf, ndf=cfg.ndf, n_classes=n_classes)

    def d_real_terms(self, b: DiscriminatorBatch, out: dict) -> torch.Tensor:
        return b.cfg.aux_weight * F.cross_entropy(out["class"].float(), b.conditions)

    def d_fake_terms(self, b: DiscriminatorBatch, out: dict) -> torch.Tensor | None:
        if not b.cfg.aux_on_fake:
            return None
        return b.cfg.aux_weight * F.cross_entropy(out["class"].float(), b.latent.classes.to(out["class"].device))

    def g_terms(self, cfg: ACGANParams, out: dict, latent: Latent, last_d: DiscriminatorResult, row: dict) -> torch.Tensor:
        loss_aux = F.cross_entropy(out["class"].float(), latent.classes.to(out["class"].device))
        row["loss_aux_fake"] = loss_aux.item()
        row["aux_acc_real"] = (last_d.out_real["class"].argmax(1) == last_d.conditions).float().mean().item()
        return cfg.aux_weight * loss_aux

    def _column(self, cfg: ACGANParams) -> str:
        return "label" if cfg.condition == "label" else cfg.condition

    def generated_columns(self, cfg: ACGANParams, latent: Latent) -> dict[str, np.ndarray]:
        return {self._column(cfg): latent.classes.numpy()}

    def extra_figures(self, G, cfg: ACGANParams, seeded: torch.Generator, out: Path) -> None:
        net_cfg = G.cfg
        if net_cfg.n_classes == 2:
            # 10 pairs: the same z with the attribute off (top row) and on (bottom row).
            z = sample_latent(net_cfg, 10, seeded, classes=torch.zeros(10, dtype=torch.long))
            on = z.vector.clone()
            on[:, net_cfg.nz:net_cfg.nz + 2] = torch.tensor([0.0, 1.0])
            pairs = np.concatenate([generate_images(G, z.vector), generate_images(G, on)])
            save_grid(uint8_batch(pairs), out / "pairs.png", nrow=10)
        else:
            # 10x10: row k holds 10 samples of class k.
            classes = torch.arange(net_cfg.n_classes).repeat_interleave(10)
            grid = generate_images(G, sample_latent(net_cfg, len(classes), seeded, classes=classes).vector)
            save_grid(uint8_batch(grid), out / "class_grid.png", nrow=10)

    def intended_correct(self, cfg: ACGANParams, evaluator, images: np.ndarray, classes: np.ndarray) -> np.ndarray:
        predicted = evaluator.predict(images)
        if cfg.condition != "label":
            predicted = predicted[:, evaluator.output_index(cfg.condition)]
        return predicted == classes

    def extra_metrics(self, cfg: ACGANParams, evaluator, generated: np.ndarray, table) -> dict[str, float]:
        """The evaluator's accuracy on generated images against their intended class or attribute."""
        correct = self.intended_correct(cfg, evaluator, generated, table[self._column(cfg)].to_numpy())
        trust = evaluator.info["test_metrics"]
        trusted = trust["test_accuracy"] if cfg.condition == "label" else trust[f"test_accuracy.{cfg.condition}"]
        return {**accuracy_with_interval(correct, "intended_accuracy"), "evaluator_test_accuracy": trusted}

    def metric_notes(self, cfg: ACGANParams) -> dict[str, str]:
        return {"intended_accuracy": "evaluator's accuracy on generated images against the intended "
                                     f"{'class' if cfg.condition == 'label' else cfg.condition}, with its 95% Wilson "
                                     "interval (intended_accuracy_ci_low / _high) over intended_accuracy_n images",
                "evaluator_test_accuracy": "the evaluator's own accuracy on the real test split"}


KIND = ACGAN()
