"""Evaluator classifiers are deterministic: the same generator seed gives the same weights."""

import numpy as np
import torch

from genadapt.training.classifier import fit_classifier


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
