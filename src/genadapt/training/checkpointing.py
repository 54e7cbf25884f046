"""Periodic training checkpoints, so an interrupted stage resumes where it stopped.

A checkpoint is a plain dict of tensors and primitives saved with ``torch.save``: every
module's and optimiser's state, the step, and every RNG state (Python, NumPy, torch CPU,
CUDA, and the loop's own generator) as tensors and lists, so a resumed CPU run continues
bit-for-bit like an uninterrupted one. It is loaded with ``weights_only=True``: nothing is
unpickled but tensors and plain values. It also stores a fingerprint of the params that shaped
the run; a checkpoint with another fingerprint (params changed since) is ignored, not resumed.
Writes are atomic and fsynced (``outputs.atomic_file``); a checkpoint that cannot be read
(truncated, zero-filled, not a checkpoint) is reported in one warning and training starts over,
and the temporaries of a writer killed mid-write are removed when the next run starts.
Checkpoints live outside the stage's final outputs (DVC ``persist: true`` folders).
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from pathlib import Path

import numpy as np
import torch

from genadapt.core.outputs import atomic_file, remove_stale_temporaries


def fingerprint(obj) -> str:
    """A short stable hash of a JSON-able description of the run (params, data shape, mode)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Checkpointer:
    def __init__(self, path: str | Path, run_fingerprint: str, every: int):
        self.path, self.fingerprint, self.every = Path(path), run_fingerprint, every
        self.fixed_extra: dict = {}
        self._cached: tuple[float, dict | None] | None = None
        remove_stale_temporaries(self.path)  # left by a writer killed mid-write

    def with_extra(self, **fixed) -> Checkpointer:
        """Record ``fixed`` (e.g. the MLflow run id) in every checkpoint saved from now on."""
        self.fixed_extra.update(fixed)
        return self

    def _rng_state(self, generator: torch.Generator) -> dict:
        version, words, gauss = random.getstate()
        kind, keys, pos, has_gauss, cached = np.random.get_state()
        state = {  # tensors and plain values only, for weights_only loading
            "python": [version, list(words), gauss],
            "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached],
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
        mtime = self.path.stat().st_mtime
        if self._cached is None or self._cached[0] != mtime:
            try:
                payload = torch.load(self.path, map_location="cpu", weights_only=True)
                if not isinstance(payload, dict) or not {"fingerprint", "step", "state", "rng", "extra"} <= set(payload):
                    raise ValueError("not a training checkpoint")
            except Exception as exc:  # truncated, zero-filled, not a zip, foreign pickle: start over
                print(f"warning: {self.path}: unreadable checkpoint ({type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:120]}); "
                      "training starts from step 1", file=sys.stderr)
                self.path.unlink(missing_ok=True)
                payload = None
            self._cached = (mtime, payload)
        payload = self._cached[1]
        return payload if payload is not None and payload.get("fingerprint") == self.fingerprint else None

    def peek_extra(self) -> dict:
        """The ``extra`` dict of a matching checkpoint (e.g. the MLflow run to continue), else {}."""
        payload = self._load_matching()
        return payload["extra"] if payload else {}

    def peek_step(self) -> int:
        """The step a matching checkpoint would resume from, else 0."""
        payload = self._load_matching()
        return payload["step"] if payload else 0

    def remove(self) -> None:
        """Drop the checkpoint once the stage's final outputs are written."""
        self.path.unlink(missing_ok=True)

    def restore(self, stateful: dict, generator: torch.Generator, total: int) -> tuple[int, dict]:
        """Load the checkpoint into ``stateful`` if it matches; returns (last step done, extra).
        A resumed run says so in one line: ``resuming <name> from step N of M``."""
        payload = self._load_matching()
        if payload is None:
            return 0, {}
        for name, obj in stateful.items():
            obj.load_state_dict(payload["state"][name])
        rng = payload["rng"]
        version, words, gauss = rng["python"]
        random.setstate((version, tuple(words), gauss))
        kind, keys, pos, has_gauss, cached = rng["numpy"]
        np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
        torch.set_rng_state(rng["torch"])
        generator.set_state(rng["generator"])
        if "cuda" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        print(f"resuming {self.path.stem} from step {payload['step']} of {total}", file=sys.stderr, flush=True)
        return payload["step"], payload["extra"]
