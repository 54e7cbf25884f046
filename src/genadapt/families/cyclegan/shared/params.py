"""CycleGAN params: the paper's recipe (LSGAN loss, cycle weight 10, identity 0.5, a pool of 50
fakes, Adam 2e-4 / 0.5, the learning rate constant then decaying linearly to 0 over the second
half) at a CPU size by default: small ResNet generators on 32x32 images. An instance names its two
datasets (``source`` = domain A, ``target`` = domain B; both directions are trained) and what
differs from these defaults; presets/course_gpu.yaml holds the paper's full size.
"""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from genadapt.core.params import Dataset, Device, Flag, Section, count, real


class CycleGANParams(Section):
    source: Dataset  # domain A
    target: Dataset  # domain B
    image_size: count(ge=16) = 32  # both domains are resized to this (divisible by 2^n_downsample)
    channels: Literal[1, 3] = 3
    ngf: count(ge=1) = 16
    ndf: count(ge=1) = 16
    n_downsample: count(ge=0) = 2
    n_blocks: count(ge=0) = 3  # the paper: 6 at 128x128, 9 at 256x256
    d_layers: count(ge=1) = 3  # stride-2 convs in the PatchGAN discriminator
    batch_size: count(ge=1) = 8  # per domain (the paper: 1)
    steps: count(ge=1) = 1000
    lr: real(gt=0.0) = 2.0e-4
    beta1: real(ge=0.0, lt=1.0) = 0.5
    beta2: real(ge=0.0, lt=1.0) = 0.999
    lambda_cycle: real(ge=0.0) = 10.0  # weight of ||G_BA(G_AB(a)) - a||_1 and its mirror
    lambda_identity: real(ge=0.0) = 0.5  # times lambda_cycle: weight of ||G_AB(b) - b||_1 and its mirror
    # CyCADA's semantic consistency: the frozen source evaluator's prediction on an image and on its
    # translation should agree (digits only: the evaluator's classes). 0 disables.
    lambda_semantic: real(ge=0.0) = 0.0
    pool_size: count(ge=0) = 50  # history of fakes D sees (Shrivastava et al. 2017); 0: the latest only
    ema_decay: real(ge=0.0, lt=1.0) = 0.99  # EMA copies of both generators, used to translate; 0 disables
    eval_every: count(ge=0) = 250  # steps between validation scores (fd_classifier both ways); best pair kept
    eval_samples: count(ge=2) = 300
    checkpoint_every: count(ge=0) = 250
    n_translate: count(ge=1) = 500  # test images translated each way by generate (the evaluation's N)
    amp: Flag = True  # bf16 autocast where the device computes bf16 natively (runtime.mixed_precision)
    channels_last: Flag = True
    device: Device = "auto"

    @model_validator(mode="after")
    def _shapes(self):
        if self.source == self.target:
            raise ValueError(f"source and target are both {self.source!r}")
        if self.image_size % 2 ** self.n_downsample:
            raise ValueError(f"image_size: {self.image_size} is not divisible by 2^n_downsample = {2 ** self.n_downsample}")
        if self.image_size // 2 ** self.d_layers < 4:  # the stride-1 convs need 4x4 maps to leave 2x2 patches
            raise ValueError(f"d_layers: {self.d_layers} stride-2 convs leave too small a map of a {self.image_size}px image "
                             f"(at most {max(1, (self.image_size // 4).bit_length() - 1)})")
        return self


def validate(raw: dict) -> CycleGANParams:
    return CycleGANParams.model_validate(raw)


def cross_check(cfg: CycleGANParams, data) -> str | None:
    from genadapt.core.params import DIGIT_DATASETS

    kinds = {name in DIGIT_DATASETS for name in (cfg.source, cfg.target)}
    if len(kinds) > 1:
        return f"source/target: {cfg.source} and {cfg.target} are not both digits or both faces"
    if cfg.lambda_semantic and cfg.source not in DIGIT_DATASETS:
        return "lambda_semantic: the semantic-consistency term needs digit domains (the evaluator's classes)"
    return None
