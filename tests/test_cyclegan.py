"""CycleGAN: shapes, a few training steps, exact resume, the cycle loss, the diversity metric."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import InterruptAt
from torch import nn

from genadapt.data.format.transforms import to_common_format
from genadapt.families.cyclegan.evaluate import diversity_against_real
from genadapt.families.cyclegan.shared.model import PatchDiscriminator, ResnetGenerator
from genadapt.families.cyclegan.shared.params import CycleGANParams
from genadapt.families.cyclegan.shared.training import ImagePool, UnpairedData, cycle_loss, learning_rate, net_config, train_cyclegan
from genadapt.families.cyclegan.train import EvaluatorInput
from genadapt.metrics.diversity import diversity_ratio, mean_pairwise_distance
from genadapt.training.checkpointing import Checkpointer

CPU = torch.device("cpu")


def _cfg(**overrides) -> CycleGANParams:
    return CycleGANParams.model_validate({"source": "mnist", "target": "mnistm", "image_size": 16, "ngf": 4, "ndf": 4,
                                          "n_blocks": 1, "d_layers": 2, "batch_size": 4, "steps": 6, "pool_size": 3,
                                          "checkpoint_every": 2, "amp": False, **overrides})


def _data() -> UnpairedData:
    rng = np.random.default_rng(0)
    return UnpairedData(rng.integers(0, 128, (12, 16, 16, 3), dtype=np.uint8), rng.integers(128, 256, (10, 16, 16, 3), dtype=np.uint8))


@pytest.mark.parametrize("size,n_down,d_layers,patches", [(32, 2, 3, 2), (64, 2, 3, 6), (16, 1, 2, 2)])
def test_shapes(size, n_down, d_layers, patches):
    net = net_config(_cfg(image_size=size, n_downsample=n_down, d_layers=d_layers))
    x = torch.rand(2, 3, size, size) * 2 - 1
    y = ResnetGenerator(net)(x)
    assert y.shape == x.shape and y.abs().max() <= 1
    assert PatchDiscriminator(net)(x).shape == (2, 1, patches, patches)


def test_params_refuse_shapes_that_do_not_fit():
    with pytest.raises(ValueError, match="not divisible by 2\\^n_downsample"):
        _cfg(image_size=18)
    with pytest.raises(ValueError, match="source and target are both"):
        _cfg(target="mnist")


def test_cycle_loss_is_zero_for_identity_generators():
    a, b = torch.rand(3, 3, 8, 8), torch.rand(3, 3, 8, 8)
    assert cycle_loss(nn.Identity(), nn.Identity(), a, b).item() == 0.0
    flip = lambda x: -x  # noqa: E731  an inverse pair, not identities: still no cycle error
    assert cycle_loss(flip, flip, a, b).item() == 0.0
    assert cycle_loss(nn.Identity(), lambda x: x + 0.5, a, b).item() == pytest.approx(1.0)


def test_learning_rate_is_constant_then_decays_to_zero():
    cfg = _cfg(steps=10, lr=1.0)
    assert [learning_rate(s, cfg) for s in (1, 5, 6, 8, 10)] == [1.0, 1.0, 1.0, 0.6, 0.2]


def test_a_few_steps_train_both_directions():
    translators, curves, summary = train_cyclegan(_cfg(eval_every=3), _data(), CPU, seed=0, quality_score=lambda t: 1.0)
    assert curves["step"].tolist() == list(range(1, 7))
    assert np.isfinite(curves[["loss_g_adv", "loss_cycle", "loss_identity", "loss_d_a", "loss_d_b"]]).all().all()
    assert summary == {"best_step": 3, "best_score": 1.0}  # ties keep the first
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    assert translators.a_to_b(x).shape == translators.b_to_a(x).shape == x.shape


def test_semantic_consistency_trains_through_the_evaluators_resize_in_bf16():
    """CyCADA's term: a frozen grey 28x28 classifier reads the 16x16 colour images; under bf16
    autocast (where the CPU has it) the resize's backward must run in float."""
    classifier = nn.Sequential(nn.Conv2d(1, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))
    semantic = EvaluatorInput(SimpleNamespace(model=classifier, info={"image_size": 28, "channels": 1}))
    _, curves, _ = train_cyclegan(_cfg(amp=True, lambda_semantic=1.0, steps=2), _data(), CPU, seed=0, semantic=semantic)
    assert np.isfinite(curves["loss_semantic"]).all() and (curves["loss_semantic"] > 0).all()


def test_resume_matches_uninterrupted(tmp_path):
    cfg, data = _cfg(), _data()
    reference, _, _ = train_cyclegan(cfg, data, CPU, seed=0)
    checkpoint = Checkpointer(tmp_path / "cyclegan.ckpt", "fp", every=2)
    with pytest.raises(KeyboardInterrupt):
        train_cyclegan(cfg, data, CPU, seed=0, metrics=InterruptAt(5), checkpoint=checkpoint)
    resumed, _, _ = train_cyclegan(cfg, data, CPU, seed=0, checkpoint=checkpoint)
    for direction in ("a_to_b", "b_to_a"):
        for x, y in zip(getattr(reference, direction).state_dict().values(), getattr(resumed, direction).state_dict().values()):
            assert torch.equal(x, y)


def test_image_pool_mixes_history_and_survives_a_checkpoint():
    pool, generator = ImagePool(4), torch.Generator().manual_seed(0)
    first = torch.arange(4.0).view(4, 1, 1, 1)
    assert torch.equal(pool.query(first, generator), first)  # filling: returned as is
    later = [pool.query(torch.full((4, 1, 1, 1), 10.0 + k), generator) for k in range(5)]
    assert any((batch < 10).any() for batch in later)  # some stored fakes came back
    restored = ImagePool(4)
    restored.load_state_dict(pool.state_dict())
    assert torch.equal(restored.images, pool.images)


def test_diversity_of_known_sets():
    rng = np.random.default_rng(0)
    assert mean_pairwise_distance(np.ones((5, 3))) == 0.0  # identical images: no diversity
    assert mean_pairwise_distance(np.array([[0.0, 0.0], [3.0, 4.0]])) == 5.0
    spread = rng.normal(size=(200, 8))
    assert diversity_ratio(spread, spread) == 1.0
    assert diversity_ratio(0.5 * spread, spread) == pytest.approx(0.5)
    collapsed = np.repeat(spread[:2], 100, axis=0)  # two modes only
    assert diversity_ratio(collapsed, spread) < 0.6


def test_diversity_reference_is_real_images_at_the_translations_size():
    """A perfect 32px translator of 64px images is not collapse: its ratio is 1, whatever the
    evaluator makes of resolution (here raw pixels, where 64px images spread further)."""
    real = np.random.default_rng(0).integers(0, 256, (20, 64, 64, 3), dtype=np.uint8)
    pixels = SimpleNamespace(features=lambda images: images.reshape(len(images), -1).astype(np.float64))
    translations = to_common_format(real, 32, 3)  # (20, 32, 32, 3)
    assert diversity_against_real(pixels, pixels.features(translations), real, _cfg(image_size=32)) == pytest.approx(1.0)
    assert diversity_ratio(pixels.features(translations), pixels.features(real)) < 0.9  # the bias it removes
