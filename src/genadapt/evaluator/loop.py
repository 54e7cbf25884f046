"""Train and apply :class:`SmallCNN` on prepared uint8 arrays."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from genadapt.core.errors import PipelineError
from genadapt.core.runtime import TrainingProgress, memory_format, mixed_precision, to_float_images
from genadapt.evaluator.network import ClassifierConfig, SmallCNN
from genadapt.training.augment import shift_and_contrast, soften
from genadapt.training.sampling import EpochSampler


def fit_classifier(
    images: np.ndarray,
    targets: np.ndarray,
    multilabel: bool,
    steps: int,
    generator: torch.Generator,
    device: torch.device | None = None,
    batch_size: int = 64,
    lr: float = 2e-3,
    width: int = 32,
    *,
    head_grid: int = 1,
    augment: bool = False,
    mirror: bool = False,
    channels_last: bool = False,
    amp: bool = False,
    on_checkpoint: Callable[[int, SmallCNN], None] | None = None,
    checkpoint_every: int = 0,
) -> SmallCNN:
    """Fit on images (N, H, W, C) uint8 with targets (N,) int classes or (N, K) 0/1 attributes.

    ``augment``: train on random views (small shifts, contrast, blur, noise), so that the
    classifier also reads generated images, whose details are softer than real ones.
    ``head_grid``: the head reads the last feature map pooled to that many cells a side (see ``ClassifierConfig``).
    ``mirror``: also mirror a random half of each batch left to right (faces: every attribute survives a
    mirror; never digits).
    ``channels_last``: train in channels-last memory format (faster on the CPU and CUDA).
    ``amp``: bf16 autocast where the device computes bf16 natively (see ``runtime.mixed_precision``).
    ``on_checkpoint(step, model)``: called every ``checkpoint_every`` steps and after the last, with the
    model in eval mode (a caller keeps the best one by a validation score)."""
    device = device or torch.device("cpu")
    n_outputs = targets.shape[1] if multilabel else int(targets.max()) + 1
    torch.manual_seed(int(torch.randint(0, 2**31, (1,), generator=generator)))  # the initial weights
    fmt = memory_format(channels_last)
    model = SmallCNN(ClassifierConfig(images.shape[-1], n_outputs, width, multilabel, head_grid)).to(device, memory_format=fmt)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps)
    x_all, y_all = torch.from_numpy(images), torch.from_numpy(targets)
    sampler = EpochSampler(len(images), batch_size, int(torch.randint(0, 2**31, (1,), generator=generator)))
    views = torch.Generator().manual_seed(int(torch.randint(0, 2**31, (1,), generator=generator)))
    autocast = mixed_precision(device, amp)
    model.train()
    bar = TrainingProgress(range(1, steps + 1), "train classifier", steps, batch_size)
    for step in bar:
        idx = sampler.indices(step)
        x = to_float_images(x_all[idx]).to(device)  # (B, C, H, W)
        if augment:
            x = soften(shift_and_contrast(x, views, shift=0.0625), views)
        if mirror:
            flipped = (torch.rand(len(x), 1, 1, 1, generator=views) < 0.5).to(device)  # (B, 1, 1, 1)
            x = torch.where(flipped, x.flip(3), x)
        with autocast:
            logits = model(x.contiguous(memory_format=fmt)).float()  # (B, K) in float32 for the loss
        y = y_all[idx].to(device)
        loss = F.binary_cross_entropy_with_logits(logits, y.float()) if multilabel else F.cross_entropy(logits, y)
        if not math.isfinite(loss.item()):
            raise PipelineError(f"classifier: training diverged at step {step} (loss {loss.item()}); lower classifier.lr")
        bar.log(loss=loss.item())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if on_checkpoint is not None and ((checkpoint_every and step % checkpoint_every == 0) or step == steps):
            on_checkpoint(step, model.eval())
            model.train()
    return model.eval()


@torch.no_grad()
def predict(model: SmallCNN, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Class indices (N,) for a multiclass model, 0/1 predictions (N, K) for a multilabel one."""
    device = next(model.parameters()).device
    outputs = []
    for start in range(0, len(images), batch_size):
        logits = model(to_float_images(torch.from_numpy(images[start:start + batch_size])).to(device))
        outputs.append((logits > 0).long() if model.cfg.multilabel else logits.argmax(1))
    return torch.cat(outputs).cpu().numpy()
