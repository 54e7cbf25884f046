"""Exponential moving averages of a network's weights, the copies the generators sample from."""

from __future__ import annotations

from torch import nn
from torch.optim.swa_utils import AveragedModel


def ema_with_warmup(decay: float):
    """EMA update whose decay ramps up as min(decay, (1 + n) / (10 + n)), so short runs are not
    dominated by the initial weights (n = updates so far)."""

    def average(averaged, current, n_averaged):
        n = float(n_averaged)
        beta = min(decay, (1.0 + n) / (10.0 + n))
        return averaged + (current - averaged) * (1.0 - beta)

    return average


def averaged_copy(model: nn.Module, decay: float) -> AveragedModel:
    """An EMA copy of ``model`` (buffers such as BatchNorm statistics averaged too)."""
    return AveragedModel(model, avg_fn=ema_with_warmup(decay), use_buffers=True)
