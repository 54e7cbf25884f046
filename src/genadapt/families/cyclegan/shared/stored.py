"""What the CycleGAN stages share: an instance's params, its two domains' folders and splits, the trained translators."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from genadapt.core.errors import PipelineError
from genadapt.core.params import Params
from genadapt.core.registry import StagePaths
from genadapt.core.weights import load_config, load_weights
from genadapt.data.format.prepared import load_split
from genadapt.data.format.transforms import to_common_format
from genadapt.families.cyclegan.shared.model import CycleGANConfig, ResnetGenerator
from genadapt.families.cyclegan.shared.params import CycleGANParams
from genadapt.families.cyclegan.shared.training import Translators

DIRECTIONS = ("a_to_b", "b_to_a")


LOSS_COLUMNS = ("loss_g_adv", "loss_cycle", "loss_identity", "loss_d_a", "loss_d_b")


def instance(params: Params, name: str) -> CycleGANParams:
    family, cfg = params.instance(name)
    if family != "cyclegan":
        raise PipelineError(f"model {name!r} is a {family}, not a CycleGAN")
    return cfg


def direction_ends(cfg: CycleGANParams, paths: StagePaths) -> dict[str, dict]:
    """Per direction: the input and output domains' names, data, evaluator and reference folders."""
    a = {"name": cfg.source, "data": paths.data, "evaluator": paths.evaluator, "reference": paths.reference}
    b = {"name": cfg.target, "data": paths.data_b, "evaluator": paths.evaluator_b, "reference": paths.reference_b}
    return {"a_to_b": {"input": a, "output": b}, "b_to_a": {"input": b, "output": a}}


def split_images(cfg: CycleGANParams, data_dir: Path, split: str) -> np.ndarray:
    """One split at the model's size and channels: (N, S, S, C) uint8."""
    return to_common_format(load_split(data_dir, split).images, cfg.image_size, cfg.channels)


def load_translators(model_dir: Path, device: torch.device) -> Translators:
    loaded = {}
    for direction in DIRECTIONS:
        G = ResnetGenerator(CycleGANConfig(**load_config(model_dir, direction)))
        loaded[direction] = load_weights(G, model_dir, direction).to(device).eval()
    return Translators(**loaded)


def translation_inputs(cfg: CycleGANParams, data_dir: Path) -> np.ndarray:
    """The evaluated inputs: the first n_translate test images, (N, S, S, C) uint8."""
    return split_images(cfg, data_dir, "test")[:cfg.n_translate]
