"""Keeping the best weights seen on validation: the one rule every loop chooses what it returns by
(GANs and translators by a quality score, lower is better; the adaptation methods and the
evaluator classifiers by accuracy, higher is better)."""

from __future__ import annotations

import copy
import math


class KeepBest:
    """The first best-scoring weights so far: only a strictly better score replaces them (ties keep
    the earlier step). ``record`` is a plain dict {'score', 'step', 'state'}, saved in checkpoints as is."""

    def __init__(self, higher_is_better: bool = False, record: dict | None = None):
        self.higher_is_better = higher_is_better
        self.record = record or {"score": -math.inf if higher_is_better else math.inf, "step": 0, "state": None}

    def offer(self, step: int, score: float, state: dict) -> bool:
        """Keep a copy of ``state`` (a state dict, or a dict of them) if ``score`` beats the best so far."""
        best = self.record["score"]
        if score > best if self.higher_is_better else score < best:
            self.record = {"score": score, "step": step, "state": copy.deepcopy(state)}
            return True
        return False

    @property
    def state(self) -> dict | None:
        return self.record["state"]

    @property
    def step(self) -> int:
        return self.record["step"]

    @property
    def score(self) -> float:
        return self.record["score"]
