"""The train-classifier stage: an evaluator trained on a dataset's train split, its weights chosen on
the validation split (best of ``SELECTION_POINTS`` checkpoints), scored once on its test split."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from genadapt.core.outputs import atomic_dir, write_json
from genadapt.core.params import Params
from genadapt.core.runtime import bf16_autocast, resolve_device
from genadapt.core.weights import save_weights
from genadapt.data.format.prepared import PreparedSplit, load_split, read_meta
from genadapt.data.format.transforms import to_common_format
from genadapt.evaluator.loop import fit_classifier, predict
from genadapt.evaluator.network import NAME, SmallCNN
from genadapt.training.selection import KeepBest


def _targets(split: PreparedSplit, kind: str) -> tuple[np.ndarray, list[str]]:
    if kind == "digits":
        return split.labels, ["label"]
    names = [c for c in split.table.columns if c != "image_id"]
    return np.stack([split.attribute(n) for n in names], 1), names


SELECTION_POINTS = 5  # checkpoints scored on the validation split, evenly spaced, the last included


def accuracy(predictions: np.ndarray, targets: np.ndarray, kind: str, names: list[str]) -> dict[str, float]:
    """Digits: {'accuracy'}; faces: {'accuracy.<attribute>', ..., 'accuracy_mean'}."""
    if kind == "digits":
        return {"accuracy": float((predictions == targets).mean())}
    per_attribute = (predictions == targets).mean(0)
    return {**{f"accuracy.{n}": float(a) for n, a in zip(names, per_attribute)}, "accuracy_mean": float(per_attribute.mean())}


def train(params: Params, data_dir: Path, out_dir: Path, metrics_file: Path) -> dict:
    cfg = params.classifier
    meta = read_meta(data_dir)
    train_split, val_split = load_split(data_dir, "train"), load_split(data_dir, "val")
    size = cfg.image_size or train_split.images.shape[1]  # the side the evaluator reads at
    channels = train_split.images.shape[-1]

    def at_size(images: np.ndarray) -> np.ndarray:
        return to_common_format(images, size, channels)  # (N, size, size, C) uint8

    kind = meta["kind"]
    y_train, names = _targets(train_split, kind)
    y_val, _ = _targets(val_split, kind)
    device = resolve_device(cfg.device)
    headline = "accuracy" if kind == "digits" else "accuracy_mean"
    best = KeepBest(higher_is_better=True)

    def keep_if_best(step: int, model: SmallCNN) -> None:
        best.offer(step, accuracy(predict(model, at_size(val_split.images)), y_val, kind, names)[headline], model.state_dict())

    model = fit_classifier(
        at_size(train_split.images), y_train, kind == "faces", cfg.steps, torch.Generator().manual_seed(params.seed), device,
        cfg.batch_size, cfg.lr, cfg.width, augment=cfg.augment, head_grid=cfg.head_grid, mirror=cfg.mirror_faces and kind == "faces",
        channels_last=cfg.channels_last, amp=cfg.amp, on_checkpoint=keep_if_best, checkpoint_every=max(1, cfg.steps // SELECTION_POINTS))
    model.load_state_dict(best.state)
    test_split = load_split(data_dir, "test")  # read once, for the reported accuracy of the chosen weights
    y_test, _ = _targets(test_split, kind)
    metrics = {f"test_{k}": v for k, v in accuracy(predict(model, at_size(test_split.images)), y_test, kind, names).items()}
    metrics |= {"test_n": len(y_test), f"val_{headline}": best.score, "val_n": len(y_val), "chosen_step": best.step}
    info = {"dataset": meta["name"], "kind": kind, "outputs": names, "image_size": size, "channels": channels,
            "bf16_autocast": bf16_autocast(device, cfg.amp)}
    with atomic_dir(out_dir) as tmp:
        save_weights(model, model.cfg.to_dict(), tmp, NAME)
        (tmp / "evaluator.json").write_text(json.dumps({**info, "test_metrics": metrics}, indent=2) + "\n")
    write_json(metrics_file, metrics)
    return metrics
