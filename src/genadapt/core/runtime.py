"""Device choice, seeding and progress bars shared by every training and evaluation loop."""

from __future__ import annotations

import random
import sys
import time

import numpy as np
import torch
from tqdm import tqdm

from genadapt.core.errors import PipelineError


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when present, else the CPU; ``cuda`` without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise PipelineError("device: 'cuda' requested but no CUDA GPU is available (use 'auto' or 'cpu')")
    return torch.device(name)


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; returns a CPU generator for batch order and noise."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


LINES_PER_LOOP = 20  # off a terminal: a progress line every total/20 steps


class TrainingProgress:
    """Progress of a training loop: tqdm on a terminal; off one (queued experiments, CI), one plain
    line every ``total / LINES_PER_LOOP`` steps and at the end: step, the loop's values, images/s, ETA.

    ``for step in bar`` iterates the steps; ``bar.log(loss=...)`` hands over the step's values.
    """

    def __init__(self, steps: range, desc: str, total: int, batch_size: int, every: int = 0, stream=None):
        self.steps, self.desc, self.total, self.batch_size = steps, desc, total, batch_size
        self.every = every or max(1, total // LINES_PER_LOOP)
        self.stream = stream or sys.stderr
        self.values: dict[str, float] = {}
        self.tty = self.stream.isatty()

    def __iter__(self):
        if self.tty:
            self._bar = tqdm(self.steps, desc=self.desc, initial=self.steps.start - 1, total=self.total, dynamic_ncols=True,
                             file=self.stream)
            yield from self._bar
            return
        start, first = time.monotonic(), self.steps.start
        for step in self.steps:
            yield step
            if step % self.every == 0 or step == self.steps.stop - 1:
                now = time.monotonic()
                done = step - first + 1
                rate = done / max(now - start, 1e-9)  # steps/s since this process started
                eta = (self.total - step) / rate
                values = " ".join(f"{k} {v:.4g}" for k, v in self.values.items())
                print(f"{self.desc}: step {step}/{self.total} {values} | {rate * self.batch_size:.1f} images/s | "
                      f"ETA {int(eta) // 60}m{int(eta) % 60:02d}s", file=self.stream, flush=True)

    def log(self, **values: float) -> None:
        self.values = values
        if self.tty and hasattr(self, "_bar"):
            self._bar.set_postfix(values, refresh=False)


def progress(iterable, **kwargs):
    """A tqdm bar over a short non-training loop, shown only when stderr is a terminal."""
    return tqdm(iterable, disable=not sys.stderr.isatty(), dynamic_ncols=True, **kwargs)


def memory_format(channels_last: bool) -> torch.memory_format:
    """The memory format for a model's 4-D weights and image batches: channels-last (NHWC in
    memory, faster convolutions with oneDNN on the CPU and cuDNN on CUDA) or the default NCHW."""
    return torch.channels_last if channels_last else torch.contiguous_format


def bf16_native(device: torch.device) -> bool:
    """Whether ``device`` computes in bfloat16 natively: CUDA GPUs from Ampere on, CPUs with
    AVX512-BF16 or AMX. Elsewhere bf16 is emulated and slower than float32."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    return False


def mixed_precision(device: torch.device, amp: bool) -> torch.autocast:
    """The forward passes' precision: bf16 autocast (convolutions and matmuls in bf16, weights,
    optimiser and losses in float32) when ``amp`` and the device computes bf16 natively; else a
    disabled context, i.e. float32."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16_autocast(device, amp))


def bf16_autocast(device: torch.device, amp: bool) -> bool:
    """Whether :func:`mixed_precision` turns bf16 autocast on (logged with each run's params)."""
    return amp and bf16_native(device)


def to_float_images(batch_uint8: torch.Tensor) -> torch.Tensor:
    """(B, H, W, C) uint8 -> (B, C, H, W) float32 in [0, 1]."""
    return batch_uint8.permute(0, 3, 1, 2).float().div_(255.0)
