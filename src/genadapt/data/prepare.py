"""Build a prepared dataset (see :mod:`genadapt.data.prepared`) from its configured source."""

from __future__ import annotations

import numpy as np
import pandas as pd

from genadapt.data.embedded_digits import make_digit_domain
from genadapt.data.embedded_faces import make_faces
from genadapt.data.prepared import SPLITS, PreparedSplit
from genadapt.errors import PipelineError
from genadapt.params import DATASETS, DIGIT_DATASETS, DatasetParams


def dataset_kind(name: str) -> str:
    return "digits" if name in DIGIT_DATASETS else "faces"


def _embedded(name: str, split: str, n: int, seed: int) -> PreparedSplit:
    ids = [f"{i:06d}.png" for i in range(n)]
    if name == "faces":
        images, attributes = make_faces(split, n, seed)
        return PreparedSplit(images, pd.DataFrame({"image_id": ids, **attributes}))
    images, labels = make_digit_domain(name, split, n, seed)
    return PreparedSplit(images, pd.DataFrame({"image_id": ids, "label": labels.astype(np.int64)}))


def prepare_dataset(name: str, cfg: DatasetParams, seed: int) -> dict[str, PreparedSplit]:
    """All splits of dataset ``name`` as configured: split -> images + table."""
    if name not in DATASETS:
        raise PipelineError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    if cfg.source != "embedded":
        raise PipelineError(f"data.{name}.source: unsupported source {cfg.source!r}")
    sizes = {"train": cfg.n_train, "test": cfg.n_test}
    return {split: _embedded(name, split, sizes[split], seed) for split in SPLITS}
