"""CelebA aligned faces: ``img_align_celeba/`` + ``list_attr_celeba.txt`` (+ ``list_eval_partition.txt``).

Attributes are converted from the official 1/-1 to 0/1. Splits follow ``list_eval_partition.txt``
(0 train, 1 val, 2 test) or, when it is absent, the official index boundaries (images up to
162770 train, up to 182637 val, the rest test). The prepared ``train`` split is the official
train partition and ``test`` the official test partition; val is not used.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from genadapt.core.errors import PipelineError
from genadapt.data.format.prepared import PreparedSplit
from genadapt.data.image_files import check_label_count, read_images

TRAIN_END, VAL_END = 162770, 182637  # last image index (1-based) of train and of val
_PARTITION = {"train": 0, "test": 2}


def read_attributes(path: Path) -> pd.DataFrame:
    """``list_attr_celeba.txt`` as a table: image_id + one 0/1 column per attribute."""
    if not path.exists():
        raise PipelineError(f"{path}: attribute file not found")
    lines = path.read_text().splitlines()
    try:
        count = int(lines[0].strip())
        names = lines[1].split()
    except (IndexError, ValueError):
        raise PipelineError(f"{path}: expected a count on line 1 and attribute names on line 2") from None
    rows = []
    for number, line in enumerate(lines[2:], start=3):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != len(names) + 1 or any(v not in ("1", "-1") for v in fields[1:]):
            raise PipelineError(f"{path}: line {number} does not have an image name and {len(names)} values of 1/-1")
        rows.append([fields[0]] + [int(v == "1") for v in fields[1:]])
    if len(rows) != count:
        raise PipelineError(f"{path}: header says {count} images but {len(rows)} are listed")
    return pd.DataFrame(rows, columns=["image_id", *names])


def read_partition(root: Path, image_ids: pd.Series) -> pd.Series:
    """Partition (0/1/2) of each image, from the file or from the official index boundaries."""
    path = root / "list_eval_partition.txt"
    if path.exists():
        table = pd.read_csv(path, sep=r"\s+", header=None, names=["image_id", "partition"])
        lookup = dict(zip(table["image_id"], table["partition"]))
        missing = [i for i in image_ids if i not in lookup]
        if missing:
            raise PipelineError(f"{path}: no partition for {missing[0]} ({len(missing)} images missing)")
        return image_ids.map(lookup)
    index = image_ids.str.extract(r"^(\d+)", expand=False).astype(int)
    return (index > TRAIN_END).astype(int) + (index > VAL_END).astype(int)


def load_celeba(root: Path, size: int, limits: dict[str, int]) -> dict[str, PreparedSplit]:
    """Prepared train/test splits; ``limits[split]`` > 0 keeps only the first that many images."""
    root = Path(root)
    image_dir = root / "img_align_celeba"
    if not image_dir.is_dir():
        raise PipelineError(f"{image_dir}: folder not found (expected the CelebA layout under {root})")
    table = read_attributes(root / "list_attr_celeba.txt")
    check_label_count(root / "list_attr_celeba.txt", len(table), image_dir)
    partition = read_partition(root, table["image_id"])
    splits = {}
    for split, code in _PARTITION.items():
        rows = table[partition.to_numpy() == code].reset_index(drop=True)
        if limits[split]:
            rows = rows.iloc[: limits[split]]
        if rows.empty:
            raise PipelineError(f"{root}: no images in the {split} partition")
        images = read_images([image_dir / name for name in rows["image_id"]], "RGB", size)
        splits[split] = PreparedSplit(images, rows)
    return splits
