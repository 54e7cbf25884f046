"""Loaders of the real datasets: the published files beside the repository, and small files in
the exact published layouts written by the tests (SVHN .mat, the course folder + CSV, USPS bz2)."""

from __future__ import annotations

import bz2
import gzip
import struct
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from genadapt.core.errors import PipelineError
from genadapt.core.params import DatasetParams
from genadapt.data.prepare import prepare_dataset
from genadapt.data.real.celeba import load_celeba, read_partition
from genadapt.data.real.digits import load_mnist, load_mnistm, load_svhn, load_usps
from genadapt.data.real.folder_csv import load_folder_csv

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"real datasets folder {SHARED} is absent")
ALL = {"train": 0, "test": 0}


@needs_shared
def test_mnist_idx():
    splits = load_mnist(SHARED / "mnist", ALL)
    assert splits["train"].images.shape == (6112, 28, 28, 1) and splits["test"].images.shape == (10000, 28, 28, 1)
    assert splits["train"].labels[:5].tolist() == [5, 0, 4, 1, 9]
    assert splits["test"].labels[:5].tolist() == [7, 2, 1, 0, 4]
    assert splits["train"].images.min() == 0 and splits["train"].images.max() == 255
    assert set(splits["test"].labels) == set(range(10))


@needs_shared
def test_mnistm_pngs_and_labels():
    splits = load_mnistm(SHARED / "mnist_m", {"train": 500, "test": 0})
    assert splits["train"].images.shape == (500, 32, 32, 3) and splits["test"].images.shape == (9001, 32, 32, 3)
    assert splits["train"].labels[:5].tolist() == [5, 0, 4, 1, 9]
    assert splits["test"].labels[:3].tolist() == [7, 2, 1]
    assert splits["train"].images.dtype == np.uint8 and splits["train"].images.std() > 20


@needs_shared
def test_usps_h5():
    splits = load_usps(SHARED / "usps", ALL)
    assert splits["train"].images.shape == (7291, 16, 16, 1) and splits["test"].images.shape == (2007, 16, 16, 1)
    assert splits["train"].labels[:5].tolist() == [6, 5, 4, 7, 3]
    assert splits["test"].labels[:5].tolist() == [9, 6, 3, 6, 6]
    assert splits["train"].images.max() == 255


@needs_shared
def test_celeba_aligned_faces():
    start = time.perf_counter()
    splits = load_celeba(SHARED / "celeba", 64, ALL)
    elapsed = time.perf_counter() - start
    assert splits["train"].images.shape == (4591, 64, 64, 3) and splits["test"].images.shape == (660, 64, 64, 3)
    first = splits["train"].table.iloc[0]
    assert first["image_id"] == "000001.jpg"
    assert (first["Smiling"], first["Male"], first["Eyeglasses"]) == (1, 0, 0)  # the official row of 000001.jpg
    table = pd.concat([s.table for s in splits.values()])
    assert set(table.columns) >= {"Smiling", "Male", "Eyeglasses", "Blond_Hair", "Black_Hair"}
    assert set(np.unique(table["Smiling"])) == {0, 1}
    assert elapsed < 60, f"preparing CelebA took {elapsed:.1f}s"


@needs_shared
def test_celeba_partition_from_official_boundaries():
    ids = pd.Series(["000001.jpg", "162770.jpg", "162771.jpg", "182637.jpg", "182638.jpg", "202599.jpg"])
    assert read_partition(Path("/nonexistent"), ids).tolist() == [0, 0, 1, 1, 2, 2]
    real = read_partition(SHARED / "celeba", pd.Series(["000001.jpg", "202564.jpg"]))
    assert real.tolist() == [0, 2]


def test_svhn_mat_in_published_layout(tmp_path):
    from scipy.io import savemat

    rng = np.random.default_rng(0)
    for split, n in (("train", 7), ("test", 3)):
        x = rng.integers(0, 255, (32, 32, 3, n), dtype=np.uint8)
        y = np.array([[10], [1], [9], [10], [2], [3], [4]][:n], dtype=np.uint8)
        savemat(tmp_path / f"{split}_32x32.mat", {"X": x, "y": y})
    splits = load_svhn(tmp_path, ALL)
    assert splits["train"].images.shape == (7, 32, 32, 3)
    assert splits["train"].labels.tolist() == [0, 1, 9, 0, 2, 3, 4]  # 10 means 0
    from scipy.io import loadmat

    x = loadmat(tmp_path / "train_32x32.mat")["X"]
    np.testing.assert_array_equal(splits["train"].images[2], x[:, :, :, 2])


def test_usps_bz2_libsvm(tmp_path):
    lines = ["3 1:-1 2:1 256:0", "10 1:1"]
    for name in ("usps.bz2", "usps.t.bz2"):
        (tmp_path / name).write_bytes(bz2.compress("\n".join(lines).encode()))
    splits = load_usps(tmp_path, ALL)
    assert splits["train"].labels.tolist() == [2, 9]
    image = splits["train"].images[0, :, :, 0]
    assert image[0, 0] == 0 and image[0, 1] == 255 and image[15, 15] == 128


def _write_course_layout(root: Path, kind: str, size: tuple[int, int]) -> None:
    rng = np.random.default_rng(0)
    for split, n in (("train", 4), ("test", 2)):
        (root / split).mkdir(parents=True)
        names = [f"{i:05d}.png" for i in range(n)]
        for name in names:
            pixels = rng.integers(0, 255, size + ((3,) if kind == "faces" else ()), dtype=np.uint8)
            Image.fromarray(pixels).save(root / split / name)
        columns = {"label": [i % 10 for i in range(n)]} if kind == "digits" else {"Smiling": [1, -1] * (n // 2), "Male": [0, 1] * (n // 2)}
        pd.DataFrame({"image_name": names, **columns}).to_csv(root / f"{split}.csv", index=False)


def test_course_folder_csv_faces_and_digits(tmp_path):
    _write_course_layout(tmp_path / "faces", "faces", (80, 70))
    faces = load_folder_csv(tmp_path / "faces", "faces", ALL, 64)
    assert faces["train"].images.shape == (4, 64, 64, 3)
    assert faces["train"].table["Smiling"].tolist() == [1, 0, 1, 0]  # 1/-1 -> 1/0
    _write_course_layout(tmp_path / "digits", "digits", (28, 28))
    digits = load_folder_csv(tmp_path / "digits", "digits", {"train": 3, "test": 0}, None)
    assert digits["train"].images.shape == (3, 28, 28, 1) and digits["test"].labels.tolist() == [0, 1]
    expected = np.asarray(Image.open(tmp_path / "digits" / "train" / "00001.png"))
    np.testing.assert_array_equal(digits["train"].images[1, :, :, 0], expected)


def test_bad_inputs_name_the_file(tmp_path):
    _write_course_layout(tmp_path / "c", "digits", (28, 28))
    (tmp_path / "c" / "train" / "00002.png").write_bytes(b"garbage")
    with pytest.raises(PipelineError, match=r"00002.png: not a readable image"):
        load_folder_csv(tmp_path / "c", "digits", ALL, None)
    (tmp_path / "c" / "train" / "00002.png").rename(tmp_path / "c" / "train" / "other.png")
    with pytest.raises(PipelineError, match=r"00002.png: image file not found"):
        load_folder_csv(tmp_path / "c", "digits", ALL, None)
    (tmp_path / "c" / "train" / "other.png").unlink()  # now the CSV lists more images than the folder holds
    with pytest.raises(PipelineError, match=r"train.csv: 4 labelled images but .*train holds 3 images"):
        load_folder_csv(tmp_path / "c", "digits", ALL, None)

    # An IDX file whose header promises more images than it holds.
    mnist = tmp_path / "mnist"
    mnist.mkdir()
    (mnist / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(struct.pack(">iiii", 2051, 5, 28, 28) + bytes(28 * 28 * 4)))
    with pytest.raises(PipelineError, match="train-images-idx3-ubyte.gz: header promises"):
        load_mnist(mnist, ALL)

    # A label file that lists an image that is not there.
    mm = tmp_path / "mnist_m"
    (mm / "mnist_m_train").mkdir(parents=True)
    (mm / "mnist_m_train_labels.txt").write_text("00000000.png 5\n")
    Image.new("RGB", (28, 28)).save(mm / "mnist_m_train" / "00000009.png")
    with pytest.raises(PipelineError, match="00000000.png: image file not found"):
        load_mnistm(mm, ALL)
    # A label file with fewer lines than images: an error naming both counts, never fewer images.
    Image.new("RGB", (28, 28)).save(mm / "mnist_m_train" / "00000000.png")
    with pytest.raises(PipelineError, match=r"mnist_m_train_labels.txt: 1 labelled images but .*mnist_m_train holds 2 images"):
        load_mnistm(mm, ALL)

    # A CelebA attribute file whose header count does not match its rows.
    celeba = tmp_path / "celeba"
    (celeba / "img_align_celeba").mkdir(parents=True)
    (celeba / "list_attr_celeba.txt").write_text("3\nSmiling Male\n000001.jpg 1 -1\n")
    with pytest.raises(PipelineError, match="header says 3 images but 1 are listed"):
        load_celeba(celeba, 64, ALL)
    (celeba / "list_attr_celeba.txt").write_text("1\nSmiling Male\n000001.jpg 1 -1\n")
    for name in ("000001.jpg", "000002.jpg"):
        Image.new("RGB", (178, 218)).save(celeba / "img_align_celeba" / name)
    with pytest.raises(PipelineError, match=r"list_attr_celeba.txt: 1 labelled images but .*img_align_celeba holds 2 images"):
        load_celeba(celeba, 64, ALL)


def test_prepare_dataset_checks_root(tmp_path):
    with pytest.raises(PipelineError, match="data.faces.root: folder .* not found"):
        prepare_dataset("faces", DatasetParams(source="celeba", root=str(tmp_path / "nope"), n_train=0, n_test=0), 0)
