"""Inception reference features of a dataset's test split, computed once and cached as a DVC output."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from genadapt.data.prepared import load_split
from genadapt.errors import PipelineError
from genadapt.metrics.inception import WEIGHTS_FILE, InceptionFeatures, find_weights
from genadapt.outputs import atomic_dir
from genadapt.params import EvaluateParams
from genadapt.runtime import resolve_device


def resolve_inception(cfg: EvaluateParams) -> tuple[Path | None, str]:
    """(weights path or None, reason when None). ``required`` without weights is an error."""
    if cfg.inception == "off":
        return None, "disabled by evaluate.inception: off"
    weights = find_weights(cfg.inception_weights)
    if weights is None:
        reason = f"{WEIGHTS_FILE} not in the torch hub cache and evaluate.inception_weights is empty"
        if cfg.inception == "required":
            raise PipelineError(f"evaluate.inception is 'required' but {reason}")
        print(f"warning: Inception metrics (FID, IS, KID, precision/recall) skipped: {reason}", file=sys.stderr)
        return None, reason
    return weights, ""


def write_reference(cfg: EvaluateParams, data_dir: Path, out_dir: Path) -> dict:
    """``features.npz`` (pool features of the test split) + ``info.json``, or only an 'unavailable' info."""
    weights, reason = resolve_inception(cfg)
    with atomic_dir(out_dir) as tmp:
        if weights is None:
            info = {"available": False, "reason": reason}
        else:
            images = load_split(data_dir, "test").images
            pool, _ = InceptionFeatures(weights, resolve_device(cfg.device), cfg.batch_size)(images)
            np.savez(tmp / "features.npz", pool=pool)
            info = {"available": True, "weights": weights.name, "split": "test", "n": len(images)}
        (tmp / "info.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def read_reference(ref_dir: Path) -> tuple[np.ndarray | None, dict]:
    info_path = Path(ref_dir) / "info.json"
    if not info_path.exists():
        raise PipelineError(f"{info_path}: not found; run the inception-reference stage first")
    info = json.loads(info_path.read_text())
    return (np.load(Path(ref_dir) / "features.npz")["pool"] if info["available"] else None), info
