import numpy as np
import pytest

from genadapt.data.embedded.faces import FACE_ATTRIBUTES, FACE_STYLES, make_faces


@pytest.mark.parametrize("style", FACE_STYLES)
def test_shapes_and_attribute_table(style):
    images, table = make_faces("train", 300, seed=0, style=style)
    assert images.shape == (300, 64, 64, 3) and images.dtype == np.uint8
    assert set(table) == set(FACE_ATTRIBUTES)
    for name in ("Smiling", "Male", "Eyeglasses", "Blond_Hair", "Black_Hair"):
        assert set(np.unique(table[name])) == {0, 1}, name
    # Exactly one hair colour per face.
    hair = sum(table[n] for n in ("Blond_Hair", "Black_Hair", "Brown_Hair", "Gray_Hair"))
    assert (hair == 1).all()


def test_attribute_variety():
    _, table = make_faces("train", 600, seed=1)
    for name, low, high in [("Smiling", 0.4, 0.6), ("Male", 0.4, 0.6), ("Eyeglasses", 0.2, 0.4),
                            ("Blond_Hair", 0.17, 0.33), ("Black_Hair", 0.22, 0.38)]:
        assert low < table[name].mean() < high, name
    # Attributes are sampled independently: Smiling does not predict Male.
    agree = (table["Smiling"] == table["Male"]).mean()
    assert 0.4 < agree < 0.6


@pytest.mark.parametrize("style", FACE_STYLES)
def test_determinism(style):
    a, ta = make_faces("test", 20, seed=5, style=style)
    b, tb = make_faces("test", 20, seed=5, style=style)
    c, _ = make_faces("test", 20, seed=6, style=style)
    np.testing.assert_array_equal(a, b)
    assert all((ta[k] == tb[k]).all() for k in ta)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("style", FACE_STYLES)
def test_images_vary_beyond_attributes(style):
    images, _ = make_faces("train", 50, seed=0, style=style)
    flat = images.reshape(50, -1).astype(np.float32)
    distances = np.linalg.norm(flat[:, None] - flat[None], axis=-1)
    assert distances[np.triu_indices(50, 1)].min() > 100, "no two faces should be near-identical"


def test_anime_is_another_style():
    """Same attribute distribution, different pixels: the anime background is flat where the cartoon's
    is a gradient (the two are told apart by simple statistics: a translation task, not a copy)."""
    cartoon, tc = make_faces("train", 200, seed=0)
    anime, ta = make_faces("train", 200, seed=0, style="anime")
    assert abs(tc["Smiling"].mean() - ta["Smiling"].mean()) < 0.15
    corner_spread = lambda x: x[:, :8, :8].reshape(len(x), -1, 3).std(1).mean()  # noqa: E731  flat vs gradient background
    assert corner_spread(anime) < 0.5 * corner_spread(cartoon)
