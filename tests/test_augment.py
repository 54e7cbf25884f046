import pytest
import torch

from genadapt.training.augment import colour_texture, shift_and_contrast, soften


@pytest.mark.parametrize("view", [shift_and_contrast, soften, colour_texture])
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


def _grey_digits(n: int) -> torch.Tensor:
    """(n, 3, 16, 16) white squares on black, the same in every channel, as a grey source is fed."""
    x = torch.zeros(n, 3, 16, 16)
    x[:, :, 4:12, 6:10] = 1.0
    return x


def test_colour_texture_redraws_the_share_asked_in_colour_and_keeps_the_digit():
    x = _grey_digits(400)
    out = colour_texture(x, torch.Generator().manual_seed(3), p=0.5)
    redrawn = (out != x).flatten(1).any(1)
    assert 150 < redrawn.sum() < 250  # about half, drawn per image
    assert torch.equal(out[~redrawn], x[~redrawn])
    coloured = out[redrawn]
    assert (coloured.std(1).mean((1, 2)) > 0.02).float().mean() > 0.9  # the channels differ: colour
    assert (coloured[:, :, 1:3, 1:5].std((2, 3)).mean(1) > 0.0).all()  # the background is textured, not flat
    # The digit stays where it was: inside, the foreground; outside, the background, and they differ.
    stroke, around = coloured[:, :, 4:12, 6:10], coloured[:, :, 4:12, 0:4]
    assert ((stroke.mean((2, 3)) - around.mean((2, 3))).abs().sum(1) > 0.05).float().mean() > 0.8


def test_colour_texture_leaves_grey_batches_and_p_zero_alone():
    grey = torch.rand(8, 1, 16, 16)
    assert torch.equal(colour_texture(grey, torch.Generator().manual_seed(0), p=1.0), grey)
    x = _grey_digits(8)
    assert torch.equal(colour_texture(x, torch.Generator().manual_seed(0), p=0.0), x)
