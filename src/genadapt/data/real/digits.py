"""Real digit datasets in their published layouts, as prepared splits (images keep their native size).

- MNIST: ``{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz`` (IDX, big-endian headers).
- MNIST-M: ``mnist_m_{train,test}/*.png`` + ``mnist_m_{train,test}_labels.txt`` (``00000000.png 5``).
- USPS: ``usps.h5`` (``train/data`` (N, 256) float in [0, 1], ``train/target``; same for ``test``),
  or the bzip2 libsvm files ``usps.bz2`` / ``usps.t.bz2`` torchvision uses (labels 1-10, values in [-1, 1]).
- SVHN cropped digits: ``{train,test}_32x32.mat`` with ``X`` (32, 32, 3, N) uint8 and ``y`` (N, 1), 10 meaning 0.
"""

from __future__ import annotations

import bz2
import gzip
import struct
from pathlib import Path

import numpy as np
import pandas as pd

from genadapt.core.errors import PipelineError
from genadapt.data.format.prepared import SOURCE_SPLITS, PreparedSplit
from genadapt.data.image_files import check_label_count, read_images


def _split(images: np.ndarray, labels: np.ndarray, limit: int, source: Path) -> PreparedSplit:
    if len(images) != len(labels):
        raise PipelineError(f"{source}: {len(images)} images but {len(labels)} labels")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise PipelineError(f"{source}: labels must be digits 0-9, found {labels.min()}..{labels.max()}")
    if limit:
        images, labels = images[:limit], labels[:limit]
    ids = [f"{i:06d}" for i in range(len(images))]
    return PreparedSplit(np.ascontiguousarray(images), pd.DataFrame({"image_id": ids, "label": labels.astype(np.int64)}))


def _read_idx(path: Path, magic: int) -> np.ndarray:
    if not path.exists():
        raise PipelineError(f"{path}: file not found")
    try:
        data = gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as exc:
        raise PipelineError(f"{path}: not a gzip file ({exc})") from None
    n_dims = 3 if magic == 2051 else 1
    header = 4 + 4 * n_dims
    if len(data) < header or struct.unpack(">i", data[:4])[0] != magic:
        raise PipelineError(f"{path}: not an IDX file with magic number {magic}")
    dims = struct.unpack(f">{n_dims}i", data[4:header])
    expected = int(np.prod(dims))
    if len(data) - header != expected:
        raise PipelineError(f"{path}: header promises {dims} ({expected} bytes) but holds {len(data) - header}")
    return np.frombuffer(data, np.uint8, offset=header).reshape(dims)


def load_mnist(root: Path, limits: dict[str, int]) -> dict[str, PreparedSplit]:
    root, out = Path(root), {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = _read_idx(root / f"{prefix}-images-idx3-ubyte.gz", 2051)[..., None]  # (N, 28, 28, 1)
        labels = _read_idx(root / f"{prefix}-labels-idx1-ubyte.gz", 2049)
        out[split] = _split(images, labels, limits[split], root / f"{prefix}-labels-idx1-ubyte.gz")
    return out


def load_mnistm(root: Path, limits: dict[str, int]) -> dict[str, PreparedSplit]:
    root, out = Path(root), {}
    for split in SOURCE_SPLITS:
        label_file = root / f"mnist_m_{split}_labels.txt"
        if not label_file.exists():
            raise PipelineError(f"{label_file}: label file not found")
        rows = [line.split() for line in label_file.read_text().splitlines() if line.strip()]
        bad = next((i for i, r in enumerate(rows, 1) if len(r) != 2 or not r[1].isdigit()), None)
        if bad:
            raise PipelineError(f"{label_file}: line {bad} is not '<file>.png <digit>'")
        check_label_count(label_file, len(rows), root / f"mnist_m_{split}")
        if limits[split]:
            rows = rows[: limits[split]]
        images = read_images([root / f"mnist_m_{split}" / name for name, _ in rows], "RGB")  # (N, 28, 28, 3)
        out[split] = _split(images, np.array([int(d) for _, d in rows]), 0, label_file)
    return out


def _read_usps_h5(path: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    import h5py

    try:
        with h5py.File(path, "r") as f:
            data, target = f[f"{split}/data"][()], f[f"{split}/target"][()]
    except (OSError, KeyError) as exc:
        raise PipelineError(f"{path}: cannot read {split}/data and {split}/target ({exc})") from None
    if data.ndim != 2 or data.shape[1] != 256:
        raise PipelineError(f"{path}: {split}/data must be (N, 256), got {data.shape}")
    return data, target


def _read_usps_libsvm(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        lines = bz2.decompress(path.read_bytes()).decode().splitlines()
    except (OSError, ValueError) as exc:
        raise PipelineError(f"{path}: not a bzip2 libsvm file ({exc})") from None
    data, target = np.zeros((len(lines), 256), np.float32), np.zeros(len(lines), np.int64)
    for i, line in enumerate(lines):
        label, *pairs = line.split()
        target[i] = int(float(label)) - 1  # libsvm labels are 1..10
        for pair in pairs:
            index, value = pair.split(":")
            data[i, int(index) - 1] = (float(value) + 1) / 2  # [-1, 1] -> [0, 1]
    return data, target


def load_usps(root: Path, limits: dict[str, int]) -> dict[str, PreparedSplit]:
    root, out = Path(root), {}
    h5 = root / "usps.h5"
    for split in SOURCE_SPLITS:
        if h5.exists():
            data, target = _read_usps_h5(h5, split)
            source = h5
        else:
            source = root / ("usps.bz2" if split == "train" else "usps.t.bz2")
            if not source.exists():
                raise PipelineError(f"{root}: neither usps.h5 nor {source.name} found")
            data, target = _read_usps_libsvm(source)
        images = np.round(np.clip(data, 0, 1) * 255).astype(np.uint8).reshape(-1, 16, 16, 1)
        out[split] = _split(images, np.asarray(target).astype(np.int64).ravel(), limits[split], source)
    return out


def load_svhn(root: Path, limits: dict[str, int]) -> dict[str, PreparedSplit]:
    from scipy.io import loadmat

    root, out = Path(root), {}
    for split in SOURCE_SPLITS:
        path = root / f"{split}_32x32.mat"
        if not path.exists():
            raise PipelineError(f"{path}: file not found")
        try:
            mat = loadmat(path)
            x, y = mat["X"], mat["y"]
        except (OSError, ValueError, KeyError) as exc:
            raise PipelineError(f"{path}: cannot read X and y ({exc})") from None
        if x.ndim != 4 or x.shape[:3] != (32, 32, 3):
            raise PipelineError(f"{path}: X must be (32, 32, 3, N), got {x.shape}")
        labels = y.astype(np.int64).ravel() % 10  # label 10 means digit 0
        out[split] = _split(np.transpose(x, (3, 0, 1, 2)).astype(np.uint8), labels, limits[split], path)
    return out
