"""Bring image arrays of different domains to one size and channel count."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def to_common_format(images: np.ndarray, size: int, channels: int) -> np.ndarray:
    """(N, H, W, C) uint8 -> (N, size, size, channels) uint8.

    Grey images are repeated to 3 channels; colour images are reduced to grey by luminance
    (ITU-R 601) when 1 channel is asked for. Resizing is bilinear with anti-aliasing.
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float()  # (N, C, H, W)
    if x.shape[1] == 1 and channels == 3:
        x = x.repeat(1, 3, 1, 1)
    elif x.shape[1] == 3 and channels == 1:
        x = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    if x.shape[-1] != size or x.shape[-2] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()
