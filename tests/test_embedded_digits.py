import numpy as np
import pytest

from genadapt.data.embedded.digits import DIGIT_DOMAINS, make_digit_domain

SHAPES = {"mnist": (28, 28, 1), "usps": (16, 16, 1), "mnistm": (28, 28, 3), "svhn": (32, 32, 3)}


@pytest.mark.parametrize("domain", DIGIT_DOMAINS)
def test_shapes_dtype_and_balanced_labels(domain):
    images, labels = make_digit_domain(domain, "train", 200, seed=0)
    assert images.shape == (200,) + SHAPES[domain]
    assert images.dtype == np.uint8
    assert np.bincount(labels, minlength=10).tolist() == [20] * 10
    assert images.std() > 20, "images should not be blank"


@pytest.mark.parametrize("domain", DIGIT_DOMAINS)
def test_same_seed_same_arrays_other_seed_differs(domain):
    a, ya = make_digit_domain(domain, "test", 50, seed=3)
    b, yb = make_digit_domain(domain, "test", 50, seed=3)
    c, _ = make_digit_domain(domain, "test", 50, seed=4)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(a, c)


def test_train_and_test_differ():
    train, _ = make_digit_domain("mnist", "train", 50, seed=0)
    test, _ = make_digit_domain("mnist", "test", 50, seed=0)
    assert not np.array_equal(train, test)


def test_unknown_domain_and_split_are_rejected():
    with pytest.raises(ValueError, match="unknown digit domain 'kmnist'"):
        make_digit_domain("kmnist", "train", 10, seed=0)
    with pytest.raises(ValueError, match="unknown split 'val'"):
        make_digit_domain("mnist", "val", 10, seed=0)
