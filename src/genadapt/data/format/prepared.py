"""The one prepared format that every dataset, embedded or real, is written in.

A prepared dataset is a folder::

    meta.json            {"name", "source", "kind": "digits"|"faces", "shape": [H, W, C], "splits": {...}}
    train_images.npy     (N, H, W, C) uint8
    train.csv            image_id plus either ``label`` (digits, 0-9) or one 0/1 column per
                         attribute named as in CelebA (faces)
    val_images.npy, val.csv, test_images.npy, test.csv

Three splits: ``train`` fits, ``val`` chooses (best checkpoints, evaluator weights, presets) and
``test`` is read only for the reported numbers. Sources publish train and test; ``val`` is carved
from the published train split, deterministically from the seed, so it never overlaps either.
Training reads the arrays into memory; nothing downstream touches image files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from genadapt.core.errors import PipelineError

SOURCE_SPLITS = ("train", "test")  # the splits a source publishes
SPLITS = ("train", "val", "test")  # the prepared splits
SPLIT_READS: list[tuple[str, str]] = []  # (dataset, split) in the order this process read them: the import trace records it


@dataclass(frozen=True)
class PreparedSplit:
    images: np.ndarray  # (N, H, W, C) uint8
    table: pd.DataFrame  # N rows: image_id + label or attribute columns

    @property
    def labels(self) -> np.ndarray:
        """Digit labels (N,) int64; only for digit datasets."""
        return self.table["label"].to_numpy(np.int64, copy=True)

    def attribute(self, name: str) -> np.ndarray:
        """One binary attribute (N,) int64; only for face datasets."""
        if name not in self.table.columns or name in ("image_id", "label"):
            known = [c for c in self.table.columns if c not in ("image_id", "label")]
            raise PipelineError(f"unknown attribute {name!r}; this dataset has: {', '.join(known)}")
        return self.table[name].to_numpy(np.int64, copy=True)


def carve_validation(splits: dict[str, PreparedSplit], fraction: float, seed: int) -> dict[str, PreparedSplit]:
    """train/test -> train/val/test: ``fraction`` of the train split (at least one image), drawn by a
    seeded permutation, becomes ``val``; both keep the source's order."""
    train = splits["train"]
    n = len(train.images)
    n_val = max(1, round(fraction * n))
    if n_val >= n:
        raise PipelineError(f"val_fraction {fraction}: the train split has only {n} images, too few to carve a validation split")
    chosen = np.zeros(n, bool)
    chosen[np.random.default_rng(seed).permutation(n)[:n_val]] = True

    def subset(mask: np.ndarray) -> PreparedSplit:
        return PreparedSplit(train.images[mask], train.table[mask].reset_index(drop=True))

    return {"train": subset(~chosen), "val": subset(chosen), "test": splits["test"]}


def write_prepared(out_dir: Path, name: str, source: str, kind: str, splits: dict[str, PreparedSplit]) -> None:
    """Write every split and ``meta.json`` into ``out_dir`` (which must exist)."""
    shapes = {tuple(s.images.shape[1:]) for s in splits.values()}
    if len(shapes) != 1:
        raise PipelineError(f"{name}: splits have different image shapes {sorted(shapes)}")
    meta = {"name": name, "source": source, "kind": kind, "shape": list(shapes.pop()), "splits": {}}
    for split, data in splits.items():
        if data.images.dtype != np.uint8 or data.images.ndim != 4:
            raise PipelineError(f"{name}/{split}: images must be (N, H, W, C) uint8, got {data.images.dtype} {data.images.shape}")
        if len(data.table) != len(data.images):
            raise PipelineError(f"{name}/{split}: {len(data.images)} images but {len(data.table)} table rows")
        np.save(out_dir / f"{split}_images.npy", data.images)
        data.table.to_csv(out_dir / f"{split}.csv", index=False)
        meta["splits"][split] = len(data.images)
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")


def read_meta(dataset_dir: Path) -> dict:
    path = Path(dataset_dir) / "meta.json"
    if not path.exists():
        raise PipelineError(f"{path}: not found; run the prepare-data stage first (dvc repro)")
    return json.loads(path.read_text())


def load_split(dataset_dir: str | Path, split: str) -> PreparedSplit:
    """Load one split of a prepared dataset, checking that images and table agree."""
    dataset_dir = Path(dataset_dir)
    if split not in SPLITS:
        raise PipelineError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    read_meta(dataset_dir)
    images_path, table_path = dataset_dir / f"{split}_images.npy", dataset_dir / f"{split}.csv"
    try:
        images = np.load(images_path)
        table = pd.read_csv(table_path)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise PipelineError(f"{dataset_dir}: cannot read split {split!r} ({exc})") from None
    if images.dtype != np.uint8 or images.ndim != 4:
        raise PipelineError(f"{images_path}: expected (N, H, W, C) uint8, got {images.dtype} {images.shape}")
    if len(table) != len(images):
        raise PipelineError(f"{table_path}: {len(table)} rows for {len(images)} images")
    SPLIT_READS.append((dataset_dir.name, split))
    return PreparedSplit(images, table)
