"""Reconstruction error of an autoencoder over an image set."""

from __future__ import annotations

import numpy as np
import torch

from genadapt.core.runtime import progress, to_float_images


@torch.no_grad()
def reconstruction_mse(model, images: np.ndarray, device: torch.device, batch_size: int = 256) -> float:
    """Per-pixel mean squared error on [0, 1] between images (N, H, W, C) uint8 and their
    posterior-mean reconstructions, averaged over all N * C * H * W values."""
    total, count = 0.0, 0
    for start in progress(range(0, len(images), batch_size), desc="reconstruct"):
        x = to_float_images(torch.from_numpy(images[start:start + batch_size])).to(device)
        recon = model.decode(model.encode(x)[0])
        total += torch.sum((recon - x) ** 2).item()
        count += x.numel()
    return total / count
