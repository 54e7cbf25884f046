"""Adaptation params: one instance per domain pair (``models.adapt.<pair>``), with the defaults of
DANN's recipe (Ganin & Lempitsky 2015, sec. 5.2) and of the self-training methods. An instance in
params.yaml names its ``source`` and ``target`` and only what differs from these.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from genadapt.core.params import Device, DigitDataset, Flag, Probability, Section, Text, count, real

# The adaptation methods: the modules of ../methods/, listed without importing them (they import torch;
# validation does not).
METHODS = tuple(sorted(p.stem for p in (Path(__file__).parents[1] / "methods").glob("*.py") if not p.stem.startswith("_")))


@dataclass(frozen=True)
class Mode:
    """A column of the results: an adaptation method (a module of methods/) trained on the instance's
    data, optionally starting from the same seed's network of another mode (CyCADA's order)."""

    method: str
    warm_start_from: str | None = None


class AdaptParams(Section):
    source: DigitDataset
    target: DigitDataset
    channels: Literal[1, 3] = 3  # both domains in grey or RGB (grey repeated / colour by luminance)
    # Also train on the source's negatives (digits dark on light as well as light on dark): MNIST and USPS
    # draw every digit in one polarity, MNIST-M and SVHN show both.
    invert_source: Flag = True
    # Share of the labelled source batch redrawn as a coloured digit over a random colour texture
    # (training/augment.py colour_texture), a view of a grey source in a textured colour target's style.
    source_texture: Probability = 0.0
    # dann_st: weight of the class-balance term (times lambda_p), which assumes the target's classes
    # are about equally frequent: 0 for real USPS and SVHN, whose classes are not.
    class_balance: real(ge=0.0) = 0.0
    methods: Annotated[list[Text], Field(min_length=1)] = ["source_only", "dann", "dann_st", "target_only"]
    # method -> its own settings replacing the defaults its module gives (e.g. self_ensembling: {threshold: 0.9})
    settings: dict[Text, dict[Text, Any]] = {}
    image_size: count(ge=8) = 32  # both domains are brought to this size
    width: count(ge=1) = 16  # first conv block's channels
    batch_size: count(ge=2) = 64  # per domain
    steps: count(ge=1) = 800
    lr: real(gt=0.0) = 0.01  # mu_0 of mu_p = mu_0 / (1 + alpha p)^beta
    lr_alpha: real(ge=0.0) = 10.0
    lr_beta: real(ge=0.0) = 0.75
    gamma: real(ge=0.0) = 10.0  # reversal weight lambda_p = 2 / (1 + exp(-gamma p)) - 1
    momentum: real(ge=0.0, lt=1.0) = 0.9
    weight_decay: real(ge=0.0) = 5.0e-4
    st_threshold: Probability = 0.9  # dann_st: teacher confidence needed for a pseudo-label
    st_weight: real(ge=0.0) = 1.0  # dann_st: weight of the self-training loss (times lambda_p)
    st_ema: real(ge=0.0, lt=1.0) = 0.99  # dann_st: decay of the teacher's moving average
    tsne_points: count(ge=10) = 300  # test images per domain in the t-SNE plots
    checkpoint_every: count(ge=0) = 200
    # Steps between scores on the target's validation split; each selection rule keeps its best weights
    # (early stopping on validation), so ``steps`` is a budget, not a choice made on test.
    val_every: count(ge=0) = 100
    # Labelled target validation images the "labelled" selection scores (the first this many of the
    # validation split); the "unsupervised" selection reads the whole split without its labels.
    val_labels: count(ge=1, le=1000) = 1000
    device: Device = "auto"
    seeds: count(ge=1) = 1  # each method trained with seeds seed, seed+1, ...: mean and std over them

    def mode(self, name: str) -> Mode:
        """What the column ``name`` of ``methods`` trains: here, the method of that name."""
        return Mode(name)

    def known_modes(self) -> tuple[str, ...]:
        return METHODS

    @model_validator(mode="after")
    def _pair(self):
        if self.source == self.target:
            raise ValueError(f"target: source and target are both {self.source!r}")
        for key, names, known in (("methods", self.methods, self.known_modes()), ("settings", list(self.settings), METHODS)):
            unknown = [m for m in names if m not in known]
            if unknown:
                raise ValueError(f"{key}: {unknown[0]!r} is not one of {', '.join(known)}")
        return self


def validate(raw: dict) -> AdaptParams:
    return AdaptParams.model_validate(raw)


def cross_check(cfg: AdaptParams, data) -> str | None:
    return None
