import numpy as np
import pandas as pd
import pytest

from genadapt.core.errors import PipelineError
from genadapt.core.outputs import atomic_dir, write_json
from genadapt.core.params import EMBEDDED_ROOT, DatasetParams
from genadapt.data.format.prepared import PreparedSplit, carve_validation, load_split, write_prepared
from genadapt.data.format.transforms import to_common_format
from genadapt.data.prepare import prepare_dataset, read_source


def test_prepare_write_load_roundtrip(tmp_path):
    splits = prepare_dataset("faces", DatasetParams(source="embedded", root=EMBEDDED_ROOT, n_train=12, n_test=6), seed=0)
    write_prepared(tmp_path, "faces", "embedded", "faces", splits)
    test = load_split(tmp_path, "test")
    np.testing.assert_array_equal(test.images, splits["test"].images)
    assert list(test.table.columns[:3]) == ["image_id", "Smiling", "Male"]
    assert test.attribute("Smiling").tolist() == splits["test"].table["Smiling"].tolist()
    with pytest.raises(PipelineError, match="unknown attribute 'Bald'"):
        test.attribute("Bald")


def test_digits_table_has_labels(tmp_path):
    splits = read_source("svhn", DatasetParams(source="embedded", root=EMBEDDED_ROOT, n_train=20, n_test=10), seed=0)
    assert np.bincount(splits["train"].labels).tolist() == [2] * 10
    assert splits["test"].images.shape == (10, 32, 32, 3)


def _rows(split: PreparedSplit) -> set[bytes]:
    return {image.tobytes() for image in split.images}


def test_validation_split_is_carved_from_train_disjoint_and_deterministic():
    cfg = DatasetParams(source="embedded", root=EMBEDDED_ROOT, n_train=200, n_test=50, val_fraction=0.1)
    source = read_source("mnist", cfg, seed=0)
    splits = prepare_dataset("mnist", cfg, seed=0)
    assert list(splits) == ["train", "val", "test"]
    assert (len(splits["train"].images), len(splits["val"].images), len(splits["test"].images)) == (180, 20, 50)
    assert not _rows(splits["val"]) & _rows(splits["train"]) and not _rows(splits["val"]) & _rows(splits["test"])
    assert _rows(splits["val"]) | _rows(splits["train"]) == _rows(source["train"])  # nothing lost, nothing added
    assert set(splits["val"].table["image_id"]).isdisjoint(splits["train"].table["image_id"])
    again = prepare_dataset("mnist", cfg, seed=0)
    assert np.array_equal(again["val"].images, splits["val"].images) and again["val"].table.equals(splits["val"].table)
    other_seed = prepare_dataset("mnist", cfg, seed=1)["val"].table["image_id"].tolist()
    assert other_seed != splits["val"].table["image_id"].tolist()
    with pytest.raises(PipelineError, match="val_fraction 0.5: the train split has only 1 images"):
        carve_validation({"train": PreparedSplit(source["train"].images[:1], source["train"].table[:1]),
                          "test": source["test"]}, 0.5, 0)


def test_load_detects_mismatch_and_missing(tmp_path):
    with pytest.raises(PipelineError, match="meta.json: not found"):
        load_split(tmp_path, "train")
    images = np.zeros((3, 4, 4, 1), np.uint8)
    write_prepared(tmp_path, "x", "embedded", "digits", {"train": PreparedSplit(images, pd.DataFrame({"label": [1, 2, 3]}))})
    pd.DataFrame({"label": [1]}).to_csv(tmp_path / "train.csv", index=False)
    with pytest.raises(PipelineError, match="1 rows for 3 images"):
        load_split(tmp_path, "train")


def test_atomic_dir_leaves_nothing_on_failure_and_keeps_old(tmp_path):
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "old.txt").write_text("kept")
    with pytest.raises(RuntimeError):
        with atomic_dir(dest) as tmp:
            (tmp / "half.txt").write_text("half")
            raise RuntimeError("boom")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert (dest / "old.txt").read_text() == "kept"
    with atomic_dir(dest) as tmp:
        (tmp / "new.txt").write_text("new")
    assert [p.name for p in dest.iterdir()] == ["new.txt"]
    write_json(tmp_path / "m.json", {"a": 1})
    assert (tmp_path / "m.json").read_text().strip() == '{\n  "a": 1\n}'


def test_to_common_format():
    grey = np.full((2, 16, 16, 1), 200, np.uint8)
    out = to_common_format(grey, 32, 3)
    assert out.shape == (2, 32, 32, 3) and out.dtype == np.uint8
    assert (out == 200).all()
    colour = np.zeros((1, 8, 8, 3), np.uint8)
    colour[..., 1] = 100
    assert to_common_format(colour, 8, 1)[0, 0, 0, 0] == round(0.587 * 100)
