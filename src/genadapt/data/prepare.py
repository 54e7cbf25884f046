"""Build a prepared dataset (see :mod:`genadapt.data.format.prepared`) from its configured source."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from genadapt.core.errors import PipelineError
from genadapt.core.params import DATASETS, DIGIT_DATASETS, FACE_DATASETS, DatasetParams
from genadapt.data.embedded.digits import make_digit_domain
from genadapt.data.embedded.faces import make_faces
from genadapt.data.format.prepared import SOURCE_SPLITS, PreparedSplit, carve_validation
from genadapt.data.real.celeba import load_celeba
from genadapt.data.real.digits import load_mnist, load_mnistm, load_svhn, load_usps
from genadapt.data.real.folder_csv import load_folder_csv

FACE_SIZE = 64  # faces are prepared as 64x64 RGB, whatever the source
_DIGIT_LOADERS = {"mnist": load_mnist, "usps": load_usps, "mnistm": load_mnistm, "svhn": load_svhn}


def dataset_kind(name: str) -> str:
    return "digits" if name in DIGIT_DATASETS else "faces"


def _embedded(name: str, split: str, n: int, seed: int) -> PreparedSplit:
    ids = [f"{i:06d}.png" for i in range(n)]
    if name in FACE_DATASETS:
        images, attributes = make_faces(split, n, seed, style="cartoon" if name == "faces" else name)
        return PreparedSplit(images, pd.DataFrame({"image_id": ids, **attributes}))
    images, labels = make_digit_domain(name, split, n, seed)
    return PreparedSplit(images, pd.DataFrame({"image_id": ids, "label": labels.astype(np.int64)}))


def prepare_dataset(name: str, cfg: DatasetParams, seed: int) -> dict[str, PreparedSplit]:
    """All splits of dataset ``name`` as configured: train/val/test -> images + table."""
    return carve_validation(read_source(name, cfg, seed), cfg.val_fraction, seed)


def read_source(name: str, cfg: DatasetParams, seed: int) -> dict[str, PreparedSplit]:
    """The source's own train and test splits (``n_train`` / ``n_test`` applied)."""
    if name not in DATASETS:
        raise PipelineError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    limits = {"train": cfg.n_train, "test": cfg.n_test}
    if cfg.source == "embedded":
        return {split: _embedded(name, split, limits[split], seed) for split in SOURCE_SPLITS}
    root = Path(cfg.root)
    if not root.is_dir():
        raise PipelineError(f"data.{name}.root: folder {root} not found (source {cfg.source!r})")
    if cfg.source == "folder":
        return load_folder_csv(root, dataset_kind(name), limits, FACE_SIZE)
    if cfg.source == "celeba":
        return load_celeba(root, FACE_SIZE, limits)
    return _DIGIT_LOADERS[cfg.source](root, limits)
