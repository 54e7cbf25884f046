"""Batch order as a pure function of (seed, step), so a resumed run sees the same batches."""

from __future__ import annotations

import torch


class EpochSampler:
    """Index batches of a dataset of ``n`` items: a fresh permutation per epoch, short tail dropped.

    ``indices(step)`` (step counted from 1) depends only on the seed and the step, never on
    how many batches were drawn before, which makes resuming from a checkpoint exact.
    """

    def __init__(self, n: int, batch_size: int, seed: int):
        self.n, self.batch_size, self.seed = n, min(batch_size, n), seed
        self.per_epoch = self.n // self.batch_size
        self._epoch, self._order = -1, None

    def indices(self, step: int) -> torch.Tensor:
        epoch, position = divmod(step - 1, self.per_epoch)
        if epoch != self._epoch:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._epoch, self._order = epoch, torch.randperm(self.n, generator=generator)
        start = position * self.batch_size
        return self._order[start:start + self.batch_size]
