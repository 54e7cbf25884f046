"""Inception reference features of a dataset's test split, computed once and cached as a DVC output.

``info.json`` records the weights' identity (format, checksum); the evaluate stage refuses to
compare generated features from other weights with these.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from genadapt.core.errors import PipelineError
from genadapt.core.outputs import atomic_dir
from genadapt.core.params import EvaluateParams
from genadapt.core.runtime import resolve_device
from genadapt.data.format.prepared import load_split
from genadapt.metrics.inception.features import InceptionFeatures, inception_metrics
from genadapt.metrics.inception.weights import InceptionWeights, resolve_weights


def resolve_inception(cfg: EvaluateParams) -> tuple[InceptionWeights | None, str]:
    """(weights or None, reason when None). ``required`` without recognised weights is an error."""
    return resolve_weights(cfg.inception, cfg.inception_weights)


def feature_extractor(cfg: EvaluateParams, weights: InceptionWeights) -> InceptionFeatures:
    return InceptionFeatures(weights, resolve_device(cfg.device), cfg.batch_size, fast=cfg.amp)


def write_reference(cfg: EvaluateParams, data_dir: Path, out_dir: Path) -> dict:
    """``features.npz`` (pool features of the test split) + ``info.json``, or only an 'unavailable' info."""
    weights, reason = resolve_inception(cfg)
    with atomic_dir(out_dir) as tmp:
        if weights is None:
            info = {"available": False, "reason": reason}
        else:
            images = load_split(data_dir, "test").images
            extractor = feature_extractor(cfg, weights)
            pool, _ = extractor(images)
            np.savez(tmp / "features.npz", pool=pool)
            info = {"available": True, "weights": weights.identity(), "bf16": extractor.bf16, "split": "test", "n": len(images)}
        (tmp / "info.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def read_reference(ref_dir: Path) -> tuple[np.ndarray | None, dict]:
    info_path = Path(ref_dir) / "info.json"
    if not info_path.exists():
        raise PipelineError(f"{info_path}: not found; run the inception-reference stage first")
    info = json.loads(info_path.read_text())
    return (np.load(Path(ref_dir) / "features.npz")["pool"] if info["available"] else None), info


def check_same_weights(weights: InceptionWeights | None, info: dict, ref_dir: Path) -> InceptionWeights:
    """The weights that made the reference features, or a one-line error saying to rerun it."""
    if weights is None or weights.identity()["digest"] != info["weights"]["digest"]:
        found = weights.identity()["digest"] if weights else "none"
        raise PipelineError(f"{ref_dir}: made with Inception weights {info['weights']['digest']}, now {found}; "
                            "rerun the inception-reference stage (dvc repro)")
    return weights


def score_against_reference(cfg: EvaluateParams, images: np.ndarray, ref_dir: Path) -> tuple[dict, dict]:
    """The Inception metrics of images (N, H, W, C) uint8 against a dataset's reference features:
    ({'inception_available': 1, 'fid', 'kid_mean', ...} or {'inception_available': 0}, the reference's
    info). The one evaluation block every family calls."""
    ref_pool, ref_info = read_reference(ref_dir)
    if ref_pool is None:  # FID, IS, KID, precision/recall not computed: the reference says why
        return {"inception_available": 0}, ref_info
    weights = check_same_weights(resolve_inception(cfg)[0], ref_info, ref_dir)
    rgb = images if images.shape[-1] == 3 else np.repeat(images, 3, axis=-1)
    pool, logits = feature_extractor(cfg, weights)(rgb)
    return {"inception_available": 1, **inception_metrics(pool, logits, ref_pool, cfg.kid_subset_size)}, ref_info


def inception_protocol(metrics: dict, ref_info: dict) -> str:
    """How the Inception metrics were obtained (or why not), in one line for the run's tag and the report."""
    if not metrics["inception_available"]:
        return f"unavailable: {ref_info['reason']}"
    weights = ref_info["weights"]
    score = "IS from the logits head" if metrics["is_available"] else "no IS (these weights have no logits head)"
    return (f"FID (pytorch-fid formula), KID ({metrics['kid_subset_size']}-image subsets) and precision/recall "
            f"(torch-fidelity) on FID Inception pool features ({weights['format']}, {weights['digest'][:14]}, "
            f"{'bf16' if ref_info.get('bf16') else 'float32'}; pytorch-fid preprocessing), {metrics['generated_n']} generated vs "
            f"{ref_info['n']} {ref_info['split']} images; {score}")
