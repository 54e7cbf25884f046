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
