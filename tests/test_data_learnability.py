"""The embedded data must carry real signal: learnable labels, and real shifts between domains."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from genadapt.data.embedded.digits import DIGIT_DOMAINS, make_digit_domain
from genadapt.data.embedded.faces import make_faces
from genadapt.data.format.transforms import to_common_format
from genadapt.evaluator.loop import fit_classifier, predict

pytestmark = pytest.mark.slow


def test_cross_domain_accuracy_drops():
    x, y = make_digit_domain("mnist", "train", 2000, seed=0)
    model = fit_classifier(to_common_format(x, 32, 3), y, False, 300, torch.Generator().manual_seed(0))
    accuracy = {}
    for domain in DIGIT_DOMAINS:
        xt, yt = make_digit_domain(domain, "test", 500, seed=0)
        accuracy[domain] = (predict(model, to_common_format(xt, 32, 3)) == yt).mean()
    assert accuracy["mnist"] > 0.9, accuracy
    for domain in ("usps", "mnistm", "svhn"):
        assert accuracy[domain] < accuracy["mnist"] - 0.25, (domain, accuracy)


def half_size(images: np.ndarray) -> np.ndarray:
    """(N, 64, 64, C) uint8 -> (N, 32, 32, C): 2x2 means."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float()
    return F.avg_pool2d(x, 2).round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()


@pytest.mark.parametrize("style", ["cartoon", "anime"])
def test_face_attributes_are_visible(style):
    """Every attribute is learnable even from a half-size (32x32) view of the faces, where the
    classifier trains in a fifth of the time it takes at 64x64."""
    names = ["Smiling", "Male", "Eyeglasses", "Blond_Hair", "Black_Hair"]
    x, table = make_faces("train", 2000, seed=0, style=style)
    xt, table_t = make_faces("test", 500, seed=0, style=style)
    y = np.stack([table[n] for n in names], 1)
    yt = np.stack([table_t[n] for n in names], 1)
    # The evaluator classifiers' precision and memory format (params.yaml: classifier.amp, channels_last).
    model = fit_classifier(half_size(x), y, True, 300, torch.Generator().manual_seed(0), amp=True, channels_last=True)
    accuracy = (predict(model, half_size(xt)) == yt).mean(0)
    for name, acc in zip(names, accuracy):
        assert acc > 0.95, f"{name}: {acc:.3f}"
