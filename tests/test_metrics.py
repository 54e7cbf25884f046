"""Metrics on inputs whose answer is known."""

import numpy as np
import pytest
import torch

from genadapt.errors import PipelineError
from genadapt.metrics.frechet import frechet_distance
from genadapt.metrics.inception import InceptionFeatures, find_weights, inception_metrics, write_random_weights


def test_frechet_distance_of_a_set_with_itself_is_zero_and_grows_with_shift():
    features = np.random.default_rng(0).normal(size=(500, 8))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(features, features + 1.0) == pytest.approx(8.0, rel=1e-3)  # ||mu_a - mu_b||^2


def test_find_weights(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    assert find_weights("") is None  # absent from the hub cache
    with pytest.raises(PipelineError, match="evaluate.inception_weights: .* not found"):
        find_weights(str(tmp_path / "nope.pth"))
    cached = tmp_path / "hub" / "checkpoints" / "pt_inception-2015-12-05-6726825d.pth"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"x")
    assert find_weights("") == cached


def test_inception_plumbing_with_random_weights(tmp_path):
    """The real code path on a state dict of the right shapes with random values (numbers meaningless)."""
    weights = write_random_weights(tmp_path / "random_inception.pth")
    extractor = InceptionFeatures(weights, torch.device("cpu"), batch_size=8)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (20, 32, 32, 3), dtype=np.uint8)
    pool, logits = extractor(images)
    assert pool.shape == (20, 2048) and logits.shape == (20, 1008)
    grey_pool, _ = extractor(images[:4, :, :, :1])
    assert grey_pool.shape == (4, 2048)
    same = inception_metrics(pool, logits, pool)
    assert same["fid"] == pytest.approx(0.0, abs=1e-3)
    assert same["precision"] == pytest.approx(1.0) and same["recall"] == pytest.approx(1.0)
    assert set(same) == {"fid", "inception_score_mean", "inception_score_std", "kid_mean", "kid_std", "precision", "recall"}


def test_inception_score_of_uniform_predictions_is_one():
    logits = np.zeros((100, 1008))
    pool = np.random.default_rng(0).normal(size=(100, 16))
    assert inception_metrics(pool, logits, pool)["inception_score_mean"] == pytest.approx(1.0)


def test_wrong_weights_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.pth"
    torch.save({"fc.weight": torch.zeros(3)}, bad)
    with pytest.raises(PipelineError, match="bad.pth: not the FID Inception state dict"):
        InceptionFeatures(bad, torch.device("cpu"))


def test_reference_stage_paths(tmp_path, raw_params, monkeypatch):
    """auto without weights -> recorded unavailable; required -> error; explicit weights -> features."""

    from genadapt.data.prepare import prepare_dataset
    from genadapt.data.prepared import write_prepared
    from genadapt.metrics.inception_reference import read_reference, write_reference
    from genadapt.params import EMBEDDED_ROOT, DatasetParams, parse_params, replace

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "empty_hub"))
    data = tmp_path / "mnist"
    data.mkdir()
    source = DatasetParams(source="embedded", root=EMBEDDED_ROOT, n_train=10, n_test=6)
    write_prepared(data, "mnist", "embedded", "digits", prepare_dataset("mnist", source, 0))
    cfg = parse_params(raw_params).evaluate
    info = write_reference(replace(cfg, inception="auto"), data, tmp_path / "ref_auto")
    assert info["available"] is False and "not in the torch hub cache" in info["reason"]
    assert read_reference(tmp_path / "ref_auto")[0] is None
    with pytest.raises(PipelineError, match="evaluate.inception is 'required'"):
        write_reference(replace(cfg, inception="required"), data, tmp_path / "ref_required")
    assert not (tmp_path / "ref_required").exists()
    weights = write_random_weights(tmp_path / "random.pth")
    info = write_reference(replace(cfg, inception_weights=str(weights), batch_size=6), data, tmp_path / "ref")
    pool, info = read_reference(tmp_path / "ref")
    assert info["available"] and info["n"] == 6 and pool.shape == (6, 2048)


def test_precision_and_recall_are_the_right_way_round():
    """A generated set covering half of the real modes is realistic (high precision) but covers
    half of the real data (low recall); swapping the sets swaps the two."""
    from genadapt.metrics.inception import precision_recall

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(10, 16)) * 20
    real = np.concatenate([c + rng.normal(size=(100, 16)) for c in centres])
    half = np.concatenate([c + rng.normal(size=(100, 16)) for c in centres[:5]])
    prc = precision_recall(half, real)
    assert prc["precision"] > 0.7 and prc["recall"] < 0.55
    swapped = precision_recall(real, half)
    assert swapped["precision"] < 0.55 and swapped["recall"] > 0.7
