"""What the GAN stages share: an instance's validated params and the trained generator on disk."""

from __future__ import annotations

from pathlib import Path

import torch

from genadapt.core.errors import PipelineError
from genadapt.core.params import Params
from genadapt.core.weights import load_config, load_weights
from genadapt.families.gan.shared.model import GANConfig, Generator
from genadapt.families.gan.shared.params import GANParams

GENERATOR = "generator"


def instance(params: Params, name: str) -> GANParams:
    family, cfg = params.instance(name)
    if family != "gan":
        raise PipelineError(f"model {name!r} is a {family}, not a GAN")
    return cfg


def load_generator(model_dir: Path, device: torch.device) -> Generator:
    G = Generator(GANConfig(**load_config(model_dir, GENERATOR)))
    return load_weights(G, model_dir, GENERATOR).to(device).eval()
