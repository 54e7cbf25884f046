"""Periodic training checkpoints, so an interrupted stage resumes where it stopped.

A checkpoint is a plain dict of tensors and primitives saved with ``torch.save``: every
module's and optimiser's state, the step, and every RNG state (Python, NumPy, torch CPU,
CUDA, and the loop's own generator), so a resumed CPU run continues bit-for-bit like an
uninterrupted one. It also stores a fingerprint of the params that shaped the run; a
checkpoint with another fingerprint (params changed since) is ignored, not resumed.
Checkpoints live outside the stage's final outputs (DVC ``persist: true`` folders).
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import numpy as np
import torch

from genadapt.outputs import atomic_file


def fingerprint(obj) -> str:
    """A short stable hash of a JSON-able description of the run (params, data shape, mode)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Checkpointer:
    def __init__(self, path: str | Path, run_fingerprint: str, every: int):
        self.path, self.fingerprint, self.every = Path(path), run_fingerprint, every
        self.fixed_extra: dict = {}

    def with_extra(self, **fixed) -> Checkpointer:
        """Record ``fixed`` (e.g. the MLflow run id) in every checkpoint saved from now on."""
        self.fixed_extra.update(fixed)
        return self

    def _rng_state(self, generator: torch.Generator) -> dict:
        state = {
            "python": random.getstate(),
            "numpy": np.random.get_state(),
            "torch": torch.get_rng_state(),
            "generator": generator.get_state(),
        }
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def save(self, step: int, stateful: dict, generator: torch.Generator, extra: dict | None = None) -> None:
        payload = {
            "fingerprint": self.fingerprint,
            "step": step,
            "state": {name: obj.state_dict() for name, obj in stateful.items()},
            "rng": self._rng_state(generator),
            "extra": {**self.fixed_extra, **(extra or {})},
        }
        with atomic_file(self.path) as tmp:
            torch.save(payload, tmp)

    def maybe_save(self, step: int, stateful: dict, generator: torch.Generator, extra: dict | None = None) -> None:
        if self.every and step % self.every == 0:
            self.save(step, stateful, generator, extra)

    def _load_matching(self) -> dict | None:
        if not self.path.exists():
            return None
        try:
            payload = torch.load(self.path, map_location="cpu", weights_only=False)
        except (OSError, RuntimeError, EOFError):
            return None  # an unreadable checkpoint is discarded: training starts over
        return payload if payload.get("fingerprint") == self.fingerprint else None

    def peek_extra(self) -> dict:
        """The ``extra`` dict of a matching checkpoint (e.g. the MLflow run to continue), else {}."""
        payload = self._load_matching()
        return payload["extra"] if payload else {}

    def remove(self) -> None:
        """Drop the checkpoint once the stage's final outputs are written."""
        self.path.unlink(missing_ok=True)

    def restore(self, stateful: dict, generator: torch.Generator) -> tuple[int, dict]:
        """Load the checkpoint into ``stateful`` if it matches; returns (last step done, extra)."""
        payload = self._load_matching()
        if payload is None:
            return 0, {}
        for name, obj in stateful.items():
            obj.load_state_dict(payload["state"][name])
        rng = payload["rng"]
        random.setstate(rng["python"])
        np.random.set_state(rng["numpy"])
        torch.set_rng_state(rng["torch"])
        generator.set_state(rng["generator"])
        if "cuda" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        return payload["step"], payload["extra"]
