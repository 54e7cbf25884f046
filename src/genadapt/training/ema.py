"""Exponential moving averages of a network's weights, the copies the generators sample from."""

from __future__ import annotations

import copy
from collections.abc import Iterable

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, update_bn


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


def recalibrated_copy(model: nn.Module, inputs: Iterable[torch.Tensor]) -> nn.Module:
    """A copy of ``model`` in eval mode whose BatchNorm statistics are measured afresh on ``inputs``
    (torch's ``update_bn``: one train-mode pass, equal weight per batch).

    An EMA copy's averaged running statistics belong to no set of weights it ever had: they average
    the batch statistics of the training network's past weights. Sampling with them shifts every
    BatchNorm layer's output; measured on the averaged weights themselves they fit again.
    """
    fresh = copy.deepcopy(model)
    update_bn(inputs, fresh)
    return fresh.eval()
