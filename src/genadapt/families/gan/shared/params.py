"""GAN params: the family's defaults (the DCGAN recipe with the course's tricks) and the dispatch
to a kind's own params (``kinds/<kind>.py``), which adds its fields and changes defaults.

An instance in params.yaml names its ``kind`` and ``dataset`` and only what differs from these.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from genadapt.core.params import Dataset, Device, Flag, Probability, Section, Text, count, real

DIFFAUGMENT_OPS = ("color", "translation", "cutout")  # genadapt/families/gan/diffaugment.py implements each


def parse_policy(policy: str) -> list[str]:
    """DiffAugment policy 'color,translation' -> ['color', 'translation']; '' -> []; an unknown op raises ValueError."""
    ops = [op.strip() for op in policy.split(",") if op.strip()]
    unknown = [op for op in ops if op not in DIFFAUGMENT_OPS]
    if unknown:
        raise ValueError(f"augment: {', '.join(unknown)} is not a DiffAugment op "
                         f"({', '.join(DIFFAUGMENT_OPS)}; e.g. 'color,translation,cutout')")
    return ops


UnitInterval = Annotated[tuple[Probability, Probability], Field(description="[low, high] in [0, 1]")]


class GANParams(Section):
    kind: Text  # a module of genadapt/families/gan/kinds/: dcgan, acgan, infogan, wgan-gp, sngan
    dataset: Dataset
    image_size: count(ge=16) = 64  # images are resized to this (a power of two)
    channels: Literal[1, 3] = 3
    nz: count(ge=1) = 100
    ngf: count(ge=1) = 32
    ndf: count(ge=1) = 32
    batch_size: count(ge=2) = 32
    steps: count(ge=1) = 1000  # generator updates
    d_steps: count(ge=1) = 1  # discriminator updates per generator update
    lr_g: real(gt=0.0) = 4.0e-4
    lr_d: real(gt=0.0) = 4.0e-4
    beta1: real(ge=0.0, lt=1.0) = 0.5  # Adam's betas
    beta2: real(ge=0.0, lt=1.0) = 0.999
    real_label: UnitInterval = (0.9, 1.0)  # soft labels: real targets drawn from U(low, high)
    fake_label: UnitInterval = (0.0, 0.1)  # fake targets drawn from U(low, high)
    label_flip: Probability = 0.03  # noisy labels: probability of swapping real/fake targets in D
    instance_noise: real(ge=0.0) = 0.1  # std of Gaussian noise on D's inputs (in [-1,1] units) ...
    instance_noise_steps: count(ge=0) = 500  # ... annealed linearly to 0 over these steps
    augment: Text = ""  # DiffAugment policy on every input of D, e.g. "color,translation,cutout"; "" = none
    ema_decay: real(ge=0.0, lt=1.0) = 0.99  # EMA copy of G used for sampling; 0 disables
    # G's BatchNorm statistics measured afresh on this many latent vectors (drawn from the run's seed)
    # before each evaluation and for the generator kept; 0 samples with the EMA's averaged statistics.
    bn_recalibration: count(ge=0) = 2048
    eval_every: count(ge=0) = 250  # steps between cheap quality scores (fd_classifier); best G is kept
    eval_samples: count(ge=2) = 500
    # A conditional kind (ACGAN) is chosen by fd_classifier x (1 + condition_weight x (1 - intended
    # accuracy)), both on the validation split, so the checkpoint kept also follows its condition.
    condition_weight: real(ge=0.0) = 2.0
    checkpoint_every: count(ge=0) = 250
    n_generate: count(ge=1) = 1000  # PNGs written by generate, from fixed seeds
    amp: Flag = True  # bf16 autocast where the device computes bf16 natively (runtime.mixed_precision)
    channels_last: Flag = True  # channels-last memory format for the convolutions (faster on CPU and CUDA)
    device: Device = "auto"

    @model_validator(mode="after")
    def _shapes(self):
        size = self.image_size
        if size & (size - 1):
            raise ValueError(f"image_size: {size} is not a power of two (16, 32, 64, ...)")
        parse_policy(self.augment)
        for key in ("real_label", "fake_label"):
            low, high = getattr(self, key)
            if low > high:
                raise ValueError(f"{key}: [{low}, {high}] must be [low, high] with low <= high")
        return self


def validate(raw: dict) -> GANParams:
    from genadapt.families.gan.kinds import get_kind

    return get_kind(raw.get("kind")).Params.model_validate(raw)


def cross_check(cfg: GANParams, data) -> str | None:
    from genadapt.families.gan.kinds import get_kind

    return get_kind(cfg.kind).cross_check(cfg, data)
