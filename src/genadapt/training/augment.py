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


def colour_texture(x: torch.Tensor, generator: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Redraw a random ``p`` of the batch as its digit in colour over a random photo-like texture, so
    that grey digits (MNIST, USPS) take on the look of a textured colour domain (MNIST-M, SVHN)
    without any target image. The digit's mask is the image's luminance (so a negative's background
    takes the digit's colour). For half the redrawn images the digit is the texture's negative, as
    in the blending that made MNIST-M; for the others it is one random colour. Grey batches (C = 1)
    are returned as they are.

    (B, C, S, S) in [0, 1] -> same shape, in [0, 1]."""
    b, c, size, _ = x.shape
    if c != 3:
        return x

    def smooth(channels: int, cells: int) -> torch.Tensor:
        """(B, channels, S, S) noise in [-0.5, 0.5], bilinear over a cells x cells grid."""
        noise = torch.rand(b, channels, cells, cells, generator=generator) - 0.5
        return F.interpolate(noise, size=size, mode="bilinear", align_corners=False)

    def amplitude(high: float) -> torch.Tensor:
        """(B, 1, 1, 1) uniform in [0, high]: each image its own strength of a texture layer."""
        return high * torch.rand(b, 1, 1, 1, generator=generator)

    pick = (torch.rand(b, 1, 1, 1, generator=generator) < p).to(x.device)
    mask = x.mean(1, keepdim=True)  # (B, 1, S, S)
    # One base colour, light and shade at two scales, some colour variation and grain: (B, 3, S, S).
    base = 0.1 + 0.8 * torch.rand(b, 3, 1, 1, generator=generator)
    background = (base + amplitude(0.8) * smooth(1, 4) + amplitude(0.5) * smooth(1, 8) + amplitude(0.4) * smooth(3, 4)
                  + amplitude(0.3) * smooth(1, size // 2)).clamp(0, 1).to(x.device)
    flat = torch.rand(b, 3, 1, 1, generator=generator).to(x.device)
    negative = (torch.rand(b, 1, 1, 1, generator=generator) < 0.5).to(x.device)
    foreground = torch.where(negative, 1.0 - background, flat)  # (B, 3, S, S)
    return torch.where(pick, mask * foreground + (1 - mask) * background, x)
