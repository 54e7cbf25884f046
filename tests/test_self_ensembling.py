"""Self-ensembling (adaptation/methods/self_ensembling.py): its views, loss terms on known inputs,
per-domain batch statistics, its settings from params.yaml; a few steps and exact resume are in test_dann.py."""

import numpy as np
import pytest
import torch
from test_dann import _tiny_cfg, _tiny_pair

from genadapt.core.errors import PipelineError
from genadapt.core.params import parse_params
from genadapt.families.adapt.methods.self_ensembling import balance_loss, consistency_loss, small_image_augment
from genadapt.families.adapt.shared.loop import train_mode
from genadapt.families.adapt.shared.method import get_method
from genadapt.families.adapt.shared.network import DANN, DANNConfig

SE = get_method("self_ensembling")


def test_defaults_are_the_papers():
    assert (SE.ema, SE.threshold, SE.weight, SE.class_balance, SE.lr) == (0.99, 0.968, 3.0, 0.005, 1e-3)
    assert (SE.translate, SE.noise, SE.intensity_flip, SE.per_channel) == (2.0, 0.1, True, False)


def test_per_channel_views_colour_a_grey_image():
    grey = torch.rand(16, 1, 8, 8).repeat(1, 3, 1, 1)
    plain = small_image_augment(grey, torch.Generator().manual_seed(0), 0.0, 0.0, False)
    coloured = small_image_augment(grey, torch.Generator().manual_seed(0), 0.0, 0.0, False, per_channel=True)
    assert torch.allclose(plain[:, 0], plain[:, 1]) and not torch.allclose(coloured[:, 0], coloured[:, 1])


def test_the_views_are_seeded_and_shift_by_at_most_the_translation():
    x = torch.zeros(32, 1, 16, 16)
    x[:, :, 8, 8] = 1.0
    views = [small_image_augment(x, torch.Generator().manual_seed(s), translate=2.0, noise=0.0, intensity_flip=False)
             for s in (0, 0, 1)]
    assert views[0].shape == x.shape and torch.equal(views[0], views[1]) and not torch.equal(views[0], views[2])
    # Intensity x scale + offset is affine per image: the bright spot stays the argmax, within 2 pixels of the centre.
    for image in views[0][:, 0]:
        row, col = divmod(int(image.argmax()), 16)
        assert abs(row - 8) <= 2 and abs(col - 8) <= 2
    noisy = small_image_augment(x, torch.Generator().manual_seed(0), translate=0.0, noise=0.1, intensity_flip=False)
    spread = noisy - noisy.mean(dim=(2, 3), keepdim=True)
    assert 0.05 < spread[:, :, :4, :4].std() < 0.15  # away from the spot: the noise alone


def test_zoom_scales_each_digit_within_its_range_and_intensity_off_keeps_the_values():
    x = torch.zeros(64, 1, 32, 32)
    x[:, :, 8:24, 8:24] = 1.0  # a 16-pixel square
    views = small_image_augment(x, torch.Generator().manual_seed(0), translate=0.0, noise=0.0, intensity_flip=False,
                                intensity=False, zoom=1.5)
    sides = (views[:, 0, 16] > 0.5).sum(1).float()  # (64,) the square's width along the middle row
    assert sides.min() >= 16 / 1.5 - 1 and sides.max() <= 16 * 1.5 + 1
    assert sides.min() < 14 and sides.max() > 18  # smaller and larger ones
    assert views.min() >= 0 and views.max() <= 1  # no intensity scale or offset
    same = small_image_augment(x, torch.Generator().manual_seed(0), translate=2.0, noise=0.0, intensity_flip=False)
    assert torch.equal(same, small_image_augment(x, torch.Generator().manual_seed(0), translate=2.0, noise=0.0,
                                                 intensity_flip=False, zoom=1.0))


def test_consistency_counts_only_confident_teacher_predictions():
    teacher = torch.tensor([[0.99, 0.01], [0.6, 0.4]])
    student = torch.tensor([[0.0, 0.0], [10.0, -10.0]])
    loss, confident = consistency_loss(student, teacher, threshold=0.968)
    assert confident.tolist() == [1.0, 0.0]
    assert loss.item() == pytest.approx(((0.5 - 0.99) ** 2 + (0.5 - 0.01) ** 2) / 2, rel=1e-5)


def test_class_balance_is_smallest_for_a_uniform_mean_prediction():
    k = 10
    uniform = balance_loss(torch.zeros(8, k)).item()
    assert uniform == pytest.approx(-k * (0.1 * np.log(0.1) + 0.9 * np.log(0.9)), rel=1e-5)
    collapsed = torch.zeros(8, k)
    collapsed[:, 3] = 30.0
    assert balance_loss(collapsed).item() > uniform + 5


def test_the_target_loss_weighs_both_terms():
    teacher = torch.tensor([[0.99, 0.01], [0.6, 0.4]])
    student = torch.tensor([[0.0, 0.0], [10.0, -10.0]])
    loss, logged = SE.target_loss(student, teacher, None, lam=0.3, class_balance=7.0)  # neither lambda nor the pair's weight
    expected = 3.0 * logged["loss_consistency"] + 0.005 * balance_loss(student).item() * 0.5
    assert logged["confident_fraction"] == 0.5 and loss.item() == pytest.approx(expected, rel=1e-5)


def test_each_domain_is_normalised_with_its_own_batch_statistics():
    model = DANN(DANNConfig(channels=3, image_size=16, width=4, feature_dim=8)).train()
    seen = []
    model.features[1].register_forward_hook(lambda m, inp, out: seen.append(len(inp[0])))
    xs, xt = torch.rand(5, 3, 16, 16), torch.rand(5, 3, 16, 16)
    features, logits, domain = SE.forward(model, xs, xt, 0.5)
    assert seen == [5, 5] and features.shape == (10, 8) and logits.shape == (10, 10) and domain.shape == (10,)
    seen.clear()
    get_method("dann").forward(model, xs, xt, 0.5)
    assert seen == [10]


def test_the_teacher_is_the_model_returned_and_adam_trains_the_student(tiny):
    model, curves, _ = train_mode("self_ensembling", _tiny_cfg(tiny), _tiny_pair(), torch.device("cpu"), seed=0)
    assert not model.training and (curves["lr"] == SE.lr).all()
    assert (curves["loss_domain"] == 0).all() and np.isfinite(curves["loss_consistency"]).all()


def test_settings_from_params_replace_the_defaults_and_bad_ones_are_named(raw_params, tiny):
    assert get_method("self_ensembling", {"threshold": 0.9, "intensity_flip": False}).threshold == 0.9
    assert get_method("self_ensembling", {"weight": 1}).weight == 1
    with pytest.raises(PipelineError, match=r"settings\.self_ensembling\.treshold: not a setting of self_ensembling"):
        get_method("self_ensembling", {"treshold": 0.9})
    with pytest.raises(PipelineError, match=r"settings\.self_ensembling\.intensity_flip: expected a bool"):
        get_method("self_ensembling", {"intensity_flip": "yes"})
    cfg = _tiny_cfg(tiny, steps=3, val_every=0, settings={"self_ensembling": {"threshold": 0.0}})
    assert cfg.settings == {"self_ensembling": {"threshold": 0.0}}
    _, curves, _ = train_mode("self_ensembling", cfg, _tiny_pair(), torch.device("cpu"), seed=0)
    _, default, _ = train_mode("self_ensembling", _tiny_cfg(tiny, steps=3, val_every=0, settings={}), _tiny_pair(),
                            torch.device("cpu"), seed=0)
    assert curves["confident_fraction"].sum() > default["confident_fraction"].sum()  # every teacher label passes 0
    raw_params["models"]["adapt"]["mnist-usps"]["settings"] = {"mean_teacher": {}}
    with pytest.raises(PipelineError, match="models.adapt.mnist-usps.settings: 'mean_teacher' is not one of cdan_e"):
        parse_params(raw_params)
