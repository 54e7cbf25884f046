"""Matplotlib figures and torchvision image grids shared by the stages and the report."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on CI and servers
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402


def learning_curves(curves: pd.DataFrame, columns: list[str], title: str):
    """One panel per column against ``step``; returns the figure."""
    fig, axes = plt.subplots(1, len(columns), figsize=(4 * len(columns), 3), squeeze=False)
    for ax, column in zip(axes[0], columns):
        ax.plot(curves["step"], curves[column], linewidth=1)
        ax.set_xlabel("step")
        ax.set_title(column)
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def save_grid(images: torch.Tensor, path: Path, nrow: int) -> None:
    """Save (N, C, H, W) images in [0, 1] as one PNG grid with ``nrow`` images per row."""
    from torchvision.utils import make_grid, save_image  # here: importing torchvision costs a stage ~3 s

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    save_image(make_grid(images.detach().cpu().clamp(0, 1), nrow=nrow, padding=2, pad_value=1.0), str(path))


def uint8_batch(images) -> torch.Tensor:
    """(N, S, S, C) uint8 array -> (N, C, S, S) float in [0, 1], for the grids above."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
