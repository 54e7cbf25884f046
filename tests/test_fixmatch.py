"""FixMatch (adaptation/methods/fixmatch.py): its loss on known inputs, its schedule, the network
labelling its own weak views, a few steps and exact resume."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_dann import _tiny_cfg, _tiny_pair, assert_resume_matches_uninterrupted

from genadapt.families.adapt.methods.fixmatch import pseudo_label_loss
from genadapt.families.adapt.shared.loop import train_mode
from genadapt.families.adapt.shared.method import get_method

FIXMATCH = get_method("fixmatch")


def test_defaults_are_the_papers():
    assert (FIXMATCH.threshold, FIXMATCH.weight, FIXMATCH.lr, FIXMATCH.weight_decay) == (0.95, 1.0, 0.03, 5e-4)
    assert FIXMATCH.learning_rate(0.0, None) == 0.03
    assert FIXMATCH.learning_rate(1.0, None) == pytest.approx(0.03 * math.cos(7 * math.pi / 16))


def test_only_confident_weak_predictions_become_labels():
    weak = torch.tensor([[0.97, 0.03], [0.6, 0.4], [0.01, 0.99]])
    strong = torch.tensor([[0.0, 0.0], [5.0, -5.0], [2.0, 1.0]])
    loss, confident = pseudo_label_loss(strong, weak, threshold=0.95)
    assert confident.tolist() == [1.0, 0.0, 1.0]
    expected = (F.cross_entropy(strong[:1], torch.tensor([0])) + F.cross_entropy(strong[2:], torch.tensor([1]))).item() / 3
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    total, logged = FIXMATCH.target_loss(strong, weak, None, lam=0.5, class_balance=1.0)
    assert total.item() == pytest.approx(expected, rel=1e-6) and logged["confident_fraction"] == pytest.approx(2 / 3)


def test_the_network_labels_its_own_views_and_is_the_model_tested(tiny):
    model, curves, chosen = train_mode("fixmatch", _tiny_cfg(tiny, val_every=0), _tiny_pair(), torch.device("cpu"), seed=0)
    teacher = FIXMATCH.make_teacher(model, None)
    assert teacher.module is model
    assert not model.training and chosen["last"] is not model
    assert curves["step"].tolist() == list(range(1, 13)) and (curves["loss_domain"] == 0).all()
    assert np.isfinite(curves[["loss", "loss_pseudo_label", "confident_fraction"]].to_numpy()).all()
    assert curves["lr"].iloc[0] == 0.03 and curves["lr"].is_monotonic_decreasing


def test_resume_reproduces_the_uninterrupted_weights(tiny, tmp_path):
    assert_resume_matches_uninterrupted("fixmatch", _tiny_cfg(tiny, val_every=3, settings={"fixmatch": {"threshold": 0.0}}), tmp_path)


def test_zoom_scales_the_labelled_source_and_both_target_views():
    x = torch.rand(8, 3, 16, 16)
    assert FIXMATCH.source_view(x, torch.Generator().manual_seed(0)) is x  # the paper: the labelled batch as it is
    zoomed = get_method("fixmatch", {"zoom": 1.4})
    assert not torch.equal(zoomed.source_view(x, torch.Generator().manual_seed(0)), x)
    seen = []  # the weak view the network labels, then the strong one, per method

    class Recorder(torch.nn.Module):
        def forward(self, views):
            seen.append(views)
            return None, torch.zeros(len(views), 10)

    teacher = type("Teacher", (), {"module": Recorder()})()
    for method in (FIXMATCH, zoomed):
        strong, _ = method.target_view(x, teacher, torch.Generator().manual_seed(0))
        seen.append(strong)
    plain_weak, plain_strong, zoom_weak, zoom_strong = seen
    assert not torch.equal(plain_weak, zoom_weak) and not torch.equal(plain_strong, zoom_strong)


def test_a_methods_steps_scale_sets_its_own_length_and_no_other(tiny):
    """settings.<method>.steps_scale trains that method for that multiple of the pair's steps (its
    schedule spans them); a factor <= 0 is refused with its key named."""
    from genadapt.core.errors import PipelineError

    cfg = _tiny_cfg(tiny, steps=4, val_every=3, settings={"fixmatch": {"steps_scale": 1.5}})
    _, curves, _ = train_mode("fixmatch", cfg, _tiny_pair(), torch.device("cpu"), seed=0)
    assert curves["step"].tolist() == list(range(1, 7)) and curves["val_accuracy"].notna().tolist() == [False, False, True] * 2
    assert curves["lr"].iloc[-1] == pytest.approx(0.03 * math.cos(7 * math.pi * 5 / 6 / 16))
    _, curves, _ = train_mode("source_only", cfg, _tiny_pair(), torch.device("cpu"), seed=0)
    assert len(curves) == 4  # the pair's steps
    with pytest.raises(PipelineError, match=r"settings\.fixmatch\.steps_scale: expected a factor > 0"):
        get_method("fixmatch", {"steps_scale": 0})


def test_distribution_alignment_divides_by_the_running_mean_of_the_predictions():
    from genadapt.families.adapt.methods.fixmatch import align_distribution

    probs = torch.tensor([[0.9, 0.1], [0.7, 0.3]])  # the network leans to class 0
    running = torch.tensor([0.5, 0.5])
    aligned = align_distribution(probs, running, decay=0.5)
    assert running.tolist() == pytest.approx([0.65, 0.35])  # 0.5 x (0.5, 0.5) + 0.5 x the batch mean (0.8, 0.2)
    expected = torch.tensor([[0.9 / 0.65, 0.1 / 0.35], [0.7 / 0.65, 0.3 / 0.35]])
    assert torch.allclose(aligned, expected / expected.sum(1, keepdim=True))
    assert (aligned[:, 0] < probs[:, 0]).all() and torch.allclose(aligned.sum(1), torch.ones(2))  # class 0 confident less often
    uniform = torch.full((2,), 0.5)
    balanced = torch.tensor([[0.9, 0.1], [0.1, 0.9]])
    assert torch.allclose(align_distribution(balanced, uniform), balanced)  # no lean: nothing changes


def test_distribution_alignment_changes_the_labels_learnt_and_resumes_exactly(tiny, tmp_path):
    settings = {"fixmatch": {"threshold": 0.0, "distribution_alignment": True}}
    assert get_method("fixmatch", settings["fixmatch"]).distribution_alignment and not FIXMATCH.distribution_alignment
    cfg = _tiny_cfg(tiny, val_every=3, settings=settings)
    model, curves, _ = train_mode("fixmatch", cfg, _tiny_pair(), torch.device("cpu"), seed=0)
    assert np.isfinite(curves["loss_pseudo_label"]).all() and (curves["confident_fraction"] == 1).all()
    plain, _, _ = train_mode("fixmatch", _tiny_cfg(tiny, val_every=3, settings={"fixmatch": {"threshold": 0.0}}), _tiny_pair(),
                             torch.device("cpu"), seed=0)
    assert not torch.equal(model.label_head.weight, plain.label_head.weight)  # the aligned labels changed training
    assert_resume_matches_uninterrupted("fixmatch", cfg, tmp_path)
