"""DiffAugment (families/gan/diffaugment.py): each op keeps shape and range, is seeded, lets
gradients through to G, and is wired into every kind's D inputs."""

import numpy as np
import pytest
import torch
from conftest import InterruptAt
from torch import nn

from genadapt.families.gan.diffaugment import OPS, cutout, diff_augment, translation
from genadapt.families.gan.kinds import get_kind
from genadapt.families.gan.shared.params import DIFFAUGMENT_OPS
from genadapt.families.gan.training import GANData, train_gan
from genadapt.training.checkpointing import Checkpointer

POLICY = "color,translation,cutout"


def _images(channels=3, size=16, n=8, seed=0):
    return torch.rand(n, channels, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1  # [-1, 1]


def test_the_ops_are_the_ones_params_accept():
    assert tuple(OPS) == DIFFAUGMENT_OPS


@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize("channels", [1, 3])
def test_each_op_keeps_shape_and_range_and_changes_the_images(op, channels):
    x = _images(channels)
    y = OPS[op](x, torch.Generator().manual_seed(1))
    assert y.shape == x.shape and y.dtype == x.dtype
    assert y.min() >= -1.0 and y.max() <= 1.0
    assert not torch.equal(x, y)


def test_the_same_seed_gives_the_same_view_and_the_empty_policy_is_the_identity():
    x = _images()
    a = diff_augment(x, POLICY, torch.Generator().manual_seed(3))
    b = diff_augment(x, POLICY, torch.Generator().manual_seed(3))
    c = diff_augment(x, POLICY, torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert diff_augment(x, "", torch.Generator()) is x
    layout = torch.channels_last
    assert diff_augment(x.contiguous(memory_format=layout), POLICY, torch.Generator()).is_contiguous(memory_format=layout)


def test_translation_moves_a_pixel_by_at_most_an_eighth_of_the_side():
    x = torch.full((64, 1, 16, 16), -1.0)
    x[:, :, 8, 8] = 1.0
    y = translation(x, torch.Generator().manual_seed(0))
    moved = set()
    for image in y[:, 0]:
        where = (image == 1.0).nonzero().tolist()
        assert len(where) == 1  # a 2-pixel shift never pushes the centre pixel out of a 16-pixel image
        dy, dx = where[0][0] - 8, where[0][1] - 8
        assert abs(dy) <= 2 and abs(dx) <= 2
        moved.add((dy, dx))
        assert (image == 0.0).any() == (dy != 0 or dx != 0)  # the uncovered border is zero fill
    assert len(moved) > 5


def test_cutout_zeroes_one_square_of_at_most_half_the_side():
    y = cutout(torch.ones(64, 3, 16, 16), torch.Generator().manual_seed(0))
    zero = y[:, 0] == 0
    assert torch.equal(zero, (y == 0).all(dim=1))  # the same square in every channel
    for mask in zero:
        rows, cols = mask.any(dim=1).nonzero().flatten(), mask.any(dim=0).nonzero().flatten()
        assert 0 < len(rows) <= 8 and 0 < len(cols) <= 8
        assert mask.sum() == len(rows) * len(cols)  # a rectangle (a square clipped by the border)
    assert (zero.sum(dim=(1, 2)) == 64).sum() > 10  # most squares lie whole inside the image


@pytest.mark.parametrize("op", list(OPS))
def test_gradients_flow_through_each_op_to_the_generator(op):
    torch.manual_seed(0)
    G = nn.Sequential(nn.Linear(4, 3 * 16 * 16), nn.Tanh(), nn.Unflatten(1, (3, 16, 16)))
    D = nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 1))
    fake = G(torch.randn(8, 4))
    D(diff_augment(fake, op, torch.Generator().manual_seed(0))).sum().backward()
    grad = G[0].weight.grad
    assert grad is not None and grad.abs().sum() > 0


def _faces():
    return GANData(np.random.default_rng(0).integers(0, 255, (24, 16, 16, 3), dtype=np.uint8), None, 0)


def test_an_unknown_op_is_refused_by_name(tiny):
    from genadapt.core.errors import PipelineError

    with pytest.raises(PipelineError, match=r"models\.gan\.dcgan\.augment: colour is not a DiffAugment op"):
        tiny("dcgan", augment="colour,cutout")


@pytest.mark.parametrize("name, kind", [("dcgan", "dcgan"), ("dcgan", "wgan-gp"), ("dcgan", "sngan"), ("acgan-digits", "acgan")])
def test_every_kind_trains_with_diffaugment_and_it_changes_the_result(tiny, name, kind):
    data = _faces() if kind != "acgan" else GANData(_faces().images, (np.arange(24) % 10).astype(np.int64), 10)
    runs = [train_gan(get_kind(kind), tiny(name, kind=kind, augment=policy, steps=3, eval_every=0), data, torch.device("cpu"), seed=0)
            for policy in ("", POLICY)]
    assert np.isfinite(runs[1][1][["loss_d", "loss_g"]].to_numpy()).all()
    same = [torch.equal(a, b) for a, b in zip(runs[0][0].state_dict().values(), runs[1][0].state_dict().values())]
    assert not all(same)


def test_resume_with_diffaugment_reproduces_the_uninterrupted_weights(tiny, tmp_path):
    kind, cfg, cpu = get_kind("dcgan"), tiny("dcgan", augment=POLICY, steps=9, eval_every=0), torch.device("cpu")
    reference, _, _ = train_gan(kind, cfg, _faces(), cpu, seed=0)
    checkpoint = Checkpointer(tmp_path / "gan.ckpt", "fp", every=4)
    with pytest.raises(KeyboardInterrupt):
        train_gan(kind, cfg, _faces(), cpu, seed=0, metrics=InterruptAt(7), checkpoint=checkpoint)
    resumed, _, _ = train_gan(kind, cfg, _faces(), cpu, seed=0, checkpoint=checkpoint)
    for (name, a), b in zip(reference.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
