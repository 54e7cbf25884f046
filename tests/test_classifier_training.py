"""Evaluator classifiers: deterministic (the same generator seed gives the same weights), and read at their own size."""

import numpy as np
import pytest
import torch

from genadapt.evaluator.loop import fit_classifier


def test_same_seed_same_weights_whatever_ran_before():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (64, 16, 16, 3), dtype=np.uint8)
    labels = np.arange(64) % 10

    def fit():
        model = fit_classifier(images, labels, False, 3, torch.Generator().manual_seed(7), batch_size=16, width=4, augment=True)
        return [p.detach().clone() for p in model.state_dict().values()]

    first = fit()
    torch.rand(5)  # something else drew from the global generator in between
    second = fit()
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    other = fit_classifier(images, labels, False, 3, torch.Generator().manual_seed(8), batch_size=16, width=4, augment=True)
    assert not torch.equal(first[0], other.state_dict()["features.0.weight"])


def test_an_evaluator_may_read_at_its_own_size(tmp_path, raw_params):
    """classifier.image_size: trained and scored at that side; the evaluator resizes any input to it."""
    import numpy as np

    from genadapt.core.params import EMBEDDED_ROOT, DatasetParams, parse_params
    from genadapt.data.format.prepared import write_prepared
    from genadapt.data.prepare import prepare_dataset
    from genadapt.evaluator.scoring import Evaluator
    from genadapt.evaluator.train import train

    data = tmp_path / "faces"
    data.mkdir()
    write_prepared(data, "faces", "embedded", "faces",
                   prepare_dataset("faces", DatasetParams(source="embedded", root=EMBEDDED_ROOT, n_train=48, n_test=16), 0))
    raw_params["classifier"].update(steps=3, width=4, image_size=16)
    metrics = train(parse_params(raw_params), data, tmp_path / "evaluator", tmp_path / "metrics.json")
    evaluator = Evaluator(tmp_path / "evaluator", torch.device("cpu"))
    assert evaluator.info["image_size"] == 16 and metrics["test_n"] == 16
    images = np.zeros((3, 64, 64, 3), np.uint8)  # prepared faces are 64x64; generated ones may be any size
    assert evaluator.predict(images).shape == (3, len(evaluator.info["outputs"]))
    raw_params["classifier"]["image_size"] = 4
    from genadapt.core.errors import PipelineError

    with pytest.raises(PipelineError, match="classifier.image_size: 4 is too small"):
        parse_params(raw_params)


def _left_or_right_bright(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, 16, 16, 3) images lit on the left half (label 0) or the right half (label 1)."""
    labels = np.arange(n) % 2
    images = np.full((n, 16, 16, 3), 30, np.uint8)
    for i, label in enumerate(labels):
        images[i, :, 8 * label:8 * label + 8] = 220
    return images, labels


def test_mirroring_hides_left_from_right():
    """With ``mirror`` the network sees each image both ways round, so a label that is only a side
    cannot be learnt (its confidence stays near a coin's); without it, the same steps learn it."""
    from genadapt.core.runtime import to_float_images

    images, labels = _left_or_right_bright(64)

    def confidence(mirror: bool) -> float:
        """Mean probability the model gives each image's own label."""
        model = fit_classifier(images, labels, False, 120, torch.Generator().manual_seed(0), batch_size=32, width=4,
                               mirror=mirror)
        with torch.no_grad():
            probs = model(to_float_images(torch.from_numpy(images))).softmax(1)  # (64, 2)
        return float(probs[torch.arange(64), torch.from_numpy(labels)].mean())

    assert confidence(mirror=False) > 0.9
    assert abs(confidence(mirror=True) - 0.5) < 0.15


@pytest.mark.parametrize("dataset, kind", [("faces", "faces"), ("mnist", "digits")])
def test_mirror_faces_mirrors_face_evaluators_only(tmp_path, raw_params, dataset, kind):
    """classifier.mirror_faces changes a face evaluator's training and leaves a digit evaluator's weights as they were."""
    from safetensors.torch import load_file

    from genadapt.core.params import EMBEDDED_ROOT, DatasetParams, parse_params
    from genadapt.data.format.prepared import write_prepared
    from genadapt.data.prepare import prepare_dataset
    from genadapt.evaluator.network import NAME
    from genadapt.evaluator.train import train

    data = tmp_path / dataset
    data.mkdir()
    write_prepared(data, dataset, "embedded", kind,
                   prepare_dataset(dataset, DatasetParams(source="embedded", root=EMBEDDED_ROOT, n_train=48, n_test=16), 0))
    weights = []
    for mirror in (False, True):
        raw_params["classifier"].update(steps=3, width=4, image_size=16, mirror_faces=mirror)
        train(parse_params(raw_params), data, tmp_path / f"evaluator-{mirror}", tmp_path / f"metrics-{mirror}.json")
        weights.append(load_file(tmp_path / f"evaluator-{mirror}" / f"{NAME}.safetensors"))
    same = all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert same == (kind == "digits")


def test_a_head_on_a_grid_reads_where_a_feature_lies(tmp_path, raw_params):
    """head_grid g: the head reads the last map pooled to g x g cells (4 * width * g * g inputs), the
    features for fd_classifier stay the global average (4 * width); the evaluator stage saves the
    setting with the weights and reads it back. head_grid 1 is the global-average network."""
    from genadapt.core.params import EMBEDDED_ROOT, DatasetParams, parse_params
    from genadapt.data.format.prepared import write_prepared
    from genadapt.data.prepare import prepare_dataset
    from genadapt.evaluator.network import ClassifierConfig, SmallCNN
    from genadapt.evaluator.scoring import Evaluator
    from genadapt.evaluator.train import train

    x = torch.rand(5, 3, 32, 32)
    flat, grid = SmallCNN(ClassifierConfig(3, 7, width=4)), SmallCNN(ClassifierConfig(3, 7, width=4, head_grid=4))
    assert flat.head.in_features == 16 and grid.head.in_features == 16 * 4 * 4
    assert grid(x).shape == (5, 7) and grid.features(x).shape == (5, 16)
    assert grid(torch.rand(2, 3, 64, 64)).shape == (2, 7)  # any input side: the map is pooled to 4 x 4
    assert list(flat.state_dict()) == list(grid.state_dict())  # the same modules; only the head's width differs
    # Two images whose last maps have the same average but lie differently: only the grid head tells them apart.
    half = torch.zeros(1, 16, 4, 4)
    top, bottom = half.clone(), half.clone()
    top[..., :2, :], bottom[..., 2:, :] = 1.0, 1.0
    read = torch.nn.functional.adaptive_avg_pool2d(torch.cat([top, bottom]), 4).flatten(1)
    assert not torch.equal(grid.head(read)[0], grid.head(read)[1])
    assert torch.equal(top.mean((2, 3)), bottom.mean((2, 3)))

    data = tmp_path / "faces"
    data.mkdir()
    write_prepared(data, "faces", "embedded", "faces",
                   prepare_dataset("faces", DatasetParams(source="embedded", root=EMBEDDED_ROOT, n_train=48, n_test=16), 0))
    raw_params["classifier"].update(steps=3, width=4, image_size=32, head_grid=4)
    train(parse_params(raw_params), data, tmp_path / "evaluator", tmp_path / "metrics.json")
    evaluator = Evaluator(tmp_path / "evaluator", torch.device("cpu"))
    assert evaluator.model.cfg.head_grid == 4
    assert evaluator.features(np.zeros((3, 64, 64, 3), np.uint8)).shape == (3, 16)


def test_choosing_evaluator_settings_never_reads_the_test_split(tmp_path, raw_params, monkeypatch, capsys):
    """bench/evaluator_settings.py: one row per setting, chosen on validation, with the test split gone."""
    import runpy
    from pathlib import Path

    import yaml

    from genadapt.core.params import EMBEDDED_ROOT, DatasetParams
    from genadapt.data.format.prepared import write_prepared
    from genadapt.data.prepare import prepare_dataset

    data = tmp_path / "faces"
    data.mkdir()
    write_prepared(data, "faces", "embedded", "faces",
                   prepare_dataset("faces", DatasetParams(source="embedded", root=EMBEDDED_ROOT, n_train=48, n_test=16), 0))
    for test_file in data.glob("test*"):
        test_file.unlink()  # whatever reads the test split now fails
    raw_params["classifier"].update(steps=4, width=4, image_size=16)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw_params))
    bench = Path(__file__).parents[1] / "bench"
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(bench))  # as when run as a script: its folder on sys.path
    monkeypatch.setattr("sys.argv", ["evaluator_settings.py", str(data), "{}", '{"head_grid": 2, "mirror_faces": true}'])
    runpy.run_path(str(bench / "evaluator_settings.py"), run_name="__main__")
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| `")]
    assert len(rows) == 2 and '`{"head_grid": 2, "mirror_faces": true}`' in rows[1]
    assert all(float(row.split("|")[3]) > 0.5 for row in rows)  # the 40-attribute validation mean (most attributes are rare)
    monkeypatch.setattr("sys.argv", ["evaluator_settings.py", str(data), "{}", '{"head_gird": 2}'])
    with pytest.raises(SystemExit) as stopped:  # a misspelt key ends it in one line, before any training
        runpy.run_path(str(bench / "evaluator_settings.py"), run_name="__main__")
    captured = capsys.readouterr()
    assert stopped.value.code == 2 and 'setting {"head_gird": 2}:' in captured.err and captured.out == ""
