"""The train-classifier stage: an evaluator trained on a dataset's train split, its weights chosen on
the validation split (best of ``SELECTION_POINTS`` checkpoints), scored once on its test split."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch

from genadapt.core.outputs import atomic_dir, write_json
from genadapt.core.params import ClassifierParams, Params
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


def headline_of(kind: str) -> str:
    """The validation figure weights are chosen by: digit accuracy, or the mean over the attributes."""
    return "accuracy" if kind == "digits" else "accuracy_mean"


@dataclass
class ChosenEvaluator:
    """An evaluator fitted on the train split, its weights chosen on the validation split."""

    model: SmallCNN
    kind: str  # "digits" or "faces"
    names: list[str]  # its outputs: ["label"] or the attribute names
    size: int  # the side it reads at
    channels: int
    step: int  # the chosen checkpoint
    val: dict[str, float]  # accuracy() of the chosen weights on the validation split
    val_n: int

    def at_size(self, images: np.ndarray) -> np.ndarray:
        return to_common_format(images, self.size, self.channels)  # (N, size, size, C) uint8

    @property
    def headline(self) -> str:
        return headline_of(self.kind)


def fit_and_choose(cfg: ClassifierParams, seed: int, data_dir: Path) -> ChosenEvaluator:
    """Fit on the train split; keep the best of ``SELECTION_POINTS`` checkpoints by the validation
    headline (digit accuracy, or the mean over the attributes). The test split is not read."""
    meta = read_meta(data_dir)
    train_split, val_split = load_split(data_dir, "train"), load_split(data_dir, "val")
    kind = meta["kind"]
    size = cfg.image_size or train_split.images.shape[1]
    channels = train_split.images.shape[-1]

    at_size = partial(to_common_format, size=size, channels=channels)  # (N, H, W, C) -> (N, size, size, C) uint8
    y_train, names = _targets(train_split, kind)
    y_val, val_images = _targets(val_split, kind)[0], at_size(val_split.images)
    best = KeepBest(higher_is_better=True)

    def keep_if_best(step: int, model: SmallCNN) -> None:
        scores = accuracy(predict(model, val_images), y_val, kind, names)
        best.offer(step, scores[headline_of(kind)], {"model": model.state_dict(), "scores": scores})

    model = fit_classifier(
        at_size(train_split.images), y_train, kind == "faces", cfg.steps,
        torch.Generator().manual_seed(seed), resolve_device(cfg.device), cfg.batch_size, cfg.lr, cfg.width,
        augment=cfg.augment, head_grid=cfg.head_grid, mirror=cfg.mirror_faces and kind == "faces",
        channels_last=cfg.channels_last, amp=cfg.amp, on_checkpoint=keep_if_best, checkpoint_every=max(1, cfg.steps // SELECTION_POINTS))
    model.load_state_dict(best.state["model"])
    return ChosenEvaluator(model, kind, names, size, channels, best.step, best.state["scores"], len(y_val))


def train(params: Params, data_dir: Path, out_dir: Path, metrics_file: Path) -> dict:
    chosen = fit_and_choose(params.classifier, params.seed, data_dir)
    test_split = load_split(data_dir, "test")  # read once, for the reported accuracy of the chosen weights
    y_test, _ = _targets(test_split, chosen.kind)
    scores = accuracy(predict(chosen.model, chosen.at_size(test_split.images)), y_test, chosen.kind, chosen.names)
    metrics = {f"test_{k}": v for k, v in scores.items()}
    metrics |= {"test_n": len(y_test), f"val_{chosen.headline}": chosen.val[chosen.headline], "val_n": chosen.val_n,
                "chosen_step": chosen.step}
    device = resolve_device(params.classifier.device)
    info = {"dataset": read_meta(data_dir)["name"], "kind": chosen.kind, "outputs": chosen.names, "image_size": chosen.size,
            "channels": chosen.channels, "bf16_autocast": bf16_autocast(device, params.classifier.amp)}
    with atomic_dir(out_dir) as tmp:
        save_weights(chosen.model, chosen.model.cfg.to_dict(), tmp, NAME)
        (tmp / "evaluator.json").write_text(json.dumps({**info, "test_metrics": metrics}, indent=2) + "\n")
    write_json(metrics_file, metrics)
    return metrics
