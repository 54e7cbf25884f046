import pytest
import torch

from genadapt.training.augment import shift_and_contrast, soften


@pytest.mark.parametrize("view", [shift_and_contrast, soften])
def test_views_keep_shape_and_range_and_are_seeded(view):
    x = torch.rand(6, 3, 32, 32)
    out = view(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert not torch.equal(out, x)
    assert torch.equal(out, view(x, torch.Generator().manual_seed(0)))


def test_shift_moves_content():
    x = torch.zeros(64, 1, 16, 16)
    x[:, :, 6:10, 6:10] = 1.0
    out = shift_and_contrast(x, torch.Generator().manual_seed(1))
    centres = [(img[0] > 0.5).nonzero().float().mean(0) for img in out if (img[0] > 0.5).any()]
    assert len({tuple(c.round().tolist()) for c in centres}) > 1  # not every image at the same place


def test_soften_blurs_edges_of_some_images():
    x = torch.zeros(32, 1, 64, 64)
    x[:, :, :, 32:] = 1.0
    out = soften(x, torch.Generator().manual_seed(2), noise=0.0)
    softened = ((out > 0.05) & (out < 0.95)).flatten(1).any(1)
    assert 0 < softened.sum() < 32  # about half the batch is blurred
