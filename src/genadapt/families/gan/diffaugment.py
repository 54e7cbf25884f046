"""DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training",
https://arxiv.org/abs/2006.10738): the same random, differentiable transformations applied to
real and generated images every time D sees them, so D cannot memorise a small training set
and G still receives gradients through the augmentation.

The policy is a comma-separated list of the paper's three ops, applied in the order given
(the paper's default for small data: ``color,translation,cutout``):

- ``color``: brightness + U(-0.5, 0.5), saturation x U(0, 2), contrast x U(0.5, 1.5), per image,
  then clamped to [-1, 1] so a view never leaves G's tanh range;
- ``translation``: a shift of up to 1/8 of the side per image, zero (mid-grey) fill;
- ``cutout``: one square of half the side per image set to zero (mid-grey).

Ops follow the authors' reference code (``DiffAugment_pytorch.py``), except that every random
number is drawn on the CPU from the run's seeded generator, so a run is reproducible and
resumes bit-for-bit.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from genadapt.families.gan.shared.params import parse_policy


def _uniform(x: torch.Tensor, generator: torch.Generator, low: float, high: float) -> torch.Tensor:
    """One U(low, high) draw per image, (B, 1, 1, 1) on x's device and dtype."""
    u = torch.rand(len(x), 1, 1, 1, generator=generator)
    return (low + (high - low) * u).to(device=x.device, dtype=x.dtype)


def color(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """(B, C, H, W) in [-1, 1] -> same shape and range."""
    x = x + _uniform(x, generator, -0.5, 0.5)
    mean = x.mean(dim=1, keepdim=True)  # (B, 1, H, W): saturation is a no-op on one channel
    x = (x - mean) * _uniform(x, generator, 0.0, 2.0) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * _uniform(x, generator, 0.5, 1.5) + mean
    return x.clamp(-1.0, 1.0)


def translation(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by whole pixels, up to ``ratio`` of its side; (B, C, H, W) -> same shape."""
    b, _, h, w = x.shape
    max_y, max_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-max_y, max_y + 1, (b, 1, 1), generator=generator).to(x.device)
    dx = torch.randint(-max_x, max_x + 1, (b, 1, 1), generator=generator).to(x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    # Index into the image padded by one zero pixel: a source outside the image reads the padding.
    src_y = (rows + dy + 1).clamp(0, h + 1).expand(b, h, w)  # (B, H, W)
    src_x = (cols + dx + 1).clamp(0, w + 1).expand(b, h, w)
    padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)  # (B, H + 2, W + 2, C)
    batch = torch.arange(b, device=x.device).view(b, 1, 1).expand(b, h, w)
    return padded[batch, src_y, src_x].permute(0, 3, 1, 2)  # (B, C, H, W)


def cutout(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.5) -> torch.Tensor:
    """Zero one square of ``ratio`` of the side per image, its centre anywhere; (B, C, H, W) -> same shape."""
    b, _, h, w = x.shape
    size_y, size_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - size_y % 2), (b, 1, 1), generator=generator).to(x.device)
    cx = torch.randint(0, w + (1 - size_x % 2), (b, 1, 1), generator=generator).to(x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    top, left = cy - size_y // 2, cx - size_x // 2  # (B, 1, 1): the square may hang over the border
    inside = (rows >= top) & (rows < top + size_y) & (cols >= left) & (cols < left + size_x)  # (B, H, W)
    return x * (~inside).unsqueeze(1).to(x.dtype)  # (B, 1, H, W) mask broadcast over channels


OPS: dict[str, Callable[[torch.Tensor, torch.Generator], torch.Tensor]] = {
    "color": color, "translation": translation, "cutout": cutout}


def diff_augment(x: torch.Tensor, policy: str, generator: torch.Generator) -> torch.Tensor:
    """The policy's ops applied in order; x itself for the empty policy. (B, C, H, W) -> same shape."""
    ops = parse_policy(policy)
    if not ops:
        return x
    layout = torch.channels_last if x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
    for op in ops:
        x = OPS[op](x, generator)
    return x.contiguous(memory_format=layout)
