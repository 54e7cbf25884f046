"""Random views of image batches, drawn from a seeded generator (same seed, same views).

Used where a model must not depend on pixel-exact details: the student of DANN's self-training
mode, and the evaluator classifiers, which score generated images whose strokes, teeth and
edges are softer than the real ones they were trained on.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def shift_and_contrast(x: torch.Tensor, generator: torch.Generator, shift: float = 0.125) -> torch.Tensor:
    """Per-image random translation (up to ``shift`` of the side) and contrast/brightness jitter.

    (B, C, S, S) in [0, 1] -> same shape."""
    b = len(x)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, :, 2] = (torch.rand(b, 2, generator=generator) * 2 - 1) * shift * 2  # normalised coords span 2
    grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    contrast = (0.7 + 0.6 * torch.rand(b, 1, 1, 1, generator=generator)).to(x.device)
    brightness = (0.2 * torch.rand(b, 1, 1, 1, generator=generator) - 0.1).to(x.device)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return ((x - mean) * contrast + mean + brightness).clamp(0, 1)


def soften(x: torch.Tensor, generator: torch.Generator, max_sigma: float = 1.5, noise: float = 0.05) -> torch.Tensor:
    """Blur half of the batch (one Gaussian sigma in [0.3, max_sigma] per batch, scaled to the
    image size against 64 px) and add Gaussian noise of std up to ``noise`` to every image.

    (B, C, S, S) in [0, 1] -> same shape."""
    from torchvision.transforms.v2.functional import gaussian_blur  # here: importing torchvision costs a stage ~3 s

    b, _, size, _ = x.shape
    sigma = (0.3 + (max_sigma - 0.3) * torch.rand(1, generator=generator).item()) * size / 64
    blurred = gaussian_blur(x, kernel_size=2 * max(1, round(2 * sigma)) + 1, sigma=max(sigma, 0.1))
    pick = (torch.rand(b, 1, 1, 1, generator=generator) < 0.5).to(x.device)
    x = torch.where(pick, blurred, x)
    std = noise * torch.rand(b, 1, 1, 1, generator=generator).to(x.device)
    return (x + std * torch.randn(x.shape, generator=generator).to(x.device)).clamp(0, 1)
