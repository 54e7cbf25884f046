"""G's input (noise plus the kind's codes) and sampling images from a generator."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from genadapt.families.gan.shared.model import GANConfig, Generator


@dataclass(frozen=True)
class Latent:
    vector: torch.Tensor  # (B, latent_dim): noise | one-hot class | one-hot categorical code | continuous codes
    classes: torch.Tensor | None  # (B,) ACGAN intended classes
    categorical: torch.Tensor | None  # (B,) InfoGAN categorical code
    continuous: torch.Tensor | None  # (B, n_continuous) InfoGAN continuous codes in [-1, 1]


def sample_latent(cfg: GANConfig, n: int, generator: torch.Generator, classes: torch.Tensor | None = None,
                  categorical: torch.Tensor | None = None, continuous: torch.Tensor | None = None) -> Latent:
    """Draw G's input; any of the codes can be fixed (for pairs, grids and traversals)."""
    parts = [torch.randn(n, cfg.nz, generator=generator)]
    if cfg.n_classes:
        classes = torch.randint(0, cfg.n_classes, (n,), generator=generator) if classes is None else classes
        parts.append(F.one_hot(classes, cfg.n_classes).float())
    if cfg.n_categorical:
        categorical = torch.randint(0, cfg.n_categorical, (n,), generator=generator) if categorical is None else categorical
        parts.append(F.one_hot(categorical, cfg.n_categorical).float())
    if cfg.n_continuous:
        continuous = torch.rand(n, cfg.n_continuous, generator=generator) * 2 - 1 if continuous is None else continuous
        parts.append(continuous)
    return Latent(torch.cat(parts, 1), classes, categorical, continuous)


@torch.no_grad()
def generate_images(G: Generator, latent: torch.Tensor, batch_size: int = 256) -> np.ndarray:
    """Images (N, S, S, C) uint8 from latent vectors (N, latent_dim)."""
    device = next(G.parameters()).device
    out = []
    for start in range(0, len(latent), batch_size):
        x = G(latent[start:start + batch_size].to(device)).float()  # (B, C, S, S) in [-1, 1]
        out.append(((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu())
    return torch.cat(out).numpy()
