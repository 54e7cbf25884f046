"""What the VAE stages share: the trained model on disk."""

from __future__ import annotations

from pathlib import Path

import torch

from genadapt.core.weights import load_config, load_weights
from genadapt.families.vae.shared.model import VAE, VAEConfig

WEIGHTS = "vae"  # models/<name>/vae.safetensors + vae.json


def load_model(model_dir: Path, device: torch.device) -> VAE:
    model = VAE(VAEConfig(**load_config(model_dir, WEIGHTS)))
    return load_weights(model, model_dir, WEIGHTS).to(device).eval()
