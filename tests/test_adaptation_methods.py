"""Adaptation methods are plug-ins: one module each, found by name, trained by the one loop."""

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_dann import _tiny_cfg, _tiny_pair

from genadapt.core.errors import PipelineError
from genadapt.families.adapt import methods
from genadapt.families.adapt.shared.loop import train_mode
from genadapt.families.adapt.shared.method import get_method, method_names
from genadapt.families.adapt.shared.params import METHODS


def test_every_method_module_is_registered_under_its_name():
    modules = tuple(sorted(p.stem for p in Path(methods.__path__[0]).glob("*.py") if not p.stem.startswith("_")))
    assert method_names() == METHODS == modules
    assert {"source_only", "dann", "cdan_e", "dann_st", "self_ensembling", "target_only"} <= set(modules)
    for name in method_names():
        assert get_method(name).name == name
    # Only the upper bound trains on target labels; the two bounds alone see no unlabelled target.
    assert [n for n in method_names() if get_method(n).uses_target_labels] == ["target_only"]
    assert [n for n in method_names() if not get_method(n).adapts] == ["source_only", "target_only"]
    with pytest.raises(PipelineError, match="unknown adaptation method 'mmd'; choose one of cdan_e, dann"):
        get_method("mmd")


def test_cdan_e_weights_confident_examples_more_within_each_domain():
    class Conditional:  # the conditional domain classifier's (2B,) logits, fixed
        def conditional_domain_logits(self, features, probs, lam):
            return torch.tensor([3.0, -3.0, 0.0, 0.0])

    logits = torch.tensor([[30.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])  # source: one confident, one uniform
    target = torch.tensor([0.0, 0.0, 1.0, 1.0])
    loss = get_method("cdan_e").domain_loss(Conditional(), torch.zeros(4, 3), logits, None, target, 2, 0.5)
    # weight 1 + exp(-entropy): 2 for the confident example, 1 + 1/2 for a uniform one; normalised per domain, halved
    w_confident, w_uniform = 2 / 3.5 / 2, 1.5 / 3.5 / 2
    expected = w_confident * np.log(1 + np.exp(3.0)) + w_uniform * np.log(1 + np.exp(-3.0)) + 2 * 0.25 * np.log(2)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    equal = 0.25 * (np.log(1 + np.exp(3.0)) + np.log(1 + np.exp(-3.0))) + 0.5 * np.log(2)
    assert loss.item() > equal + 0.1  # the confident example's larger loss counts more
    plain = get_method("dann").domain_loss(None, None, None, torch.tensor([2.0, -2.0, 0.0, 0.0]), target, 2, 0.5)
    assert plain.item() == pytest.approx(F.binary_cross_entropy_with_logits(torch.tensor([2.0, -2.0, 0.0, 0.0]), target).item())


def test_self_training_learns_only_the_teachers_confident_labels(tiny):
    cfg = _tiny_cfg(tiny, st_threshold=0.9, st_weight=2.0)
    teacher_probs = torch.tensor([[0.95, 0.05], [0.6, 0.4]])  # only the first is confident
    student = torch.tensor([[0.0, 0.0], [5.0, -5.0]])
    loss, logged = get_method("dann_st").target_loss(student, teacher_probs, cfg, lam=0.5, class_balance=0.0)
    expected_st = F.cross_entropy(student[:1], torch.tensor([0])).item() / 2  # mean over the batch, one counted
    assert logged["confident_fraction"] == 0.5 and logged["loss_self_training"] == pytest.approx(expected_st, rel=1e-5)
    assert loss.item() == pytest.approx(0.5 * 2.0 * expected_st, rel=1e-5)
    assert get_method("dann").target_loss(student, None, cfg, 0.5, 1.0) == (None, {})


def test_a_new_method_is_one_module_and_the_loop_trains_it(tiny, tmp_path, monkeypatch):
    """A method the loop has never heard of (entropy minimisation on the target), dropped in as a module."""
    (tmp_path / "entropy_min.py").write_text(
        "import torch.nn.functional as F\n"
        "from genadapt.families.adapt.shared.method import Method\n"
        "class EntropyMin(Method):\n"
        "    def target_loss(self, logits, context, cfg, lam, class_balance):\n"
        "        p = F.softmax(logits, 1)\n"
        "        entropy = -(p * F.log_softmax(logits, 1)).sum(1).mean()\n"
        "        return lam * entropy, {'loss_entropy': entropy.item()}\n"
        "METHOD = EntropyMin('entropy_min', adapts=True)\n")
    monkeypatch.setattr(methods, "__path__", [*methods.__path__, str(tmp_path)])
    assert "entropy_min" in method_names()
    model, curves, _ = train_mode("entropy_min", _tiny_cfg(tiny), _tiny_pair(), torch.device("cpu"), seed=0)
    assert curves["step"].tolist() == list(range(1, 13)) and np.isfinite(curves["loss_entropy"]).all()
    assert "loss_domain" in curves and not model.training


def test_target_only_learns_from_the_strong_views_only_when_asked():
    x = torch.rand(4, 3, 16, 16)
    assert get_method("target_only").source_view(x, torch.Generator().manual_seed(0)) is x
    augmented = get_method("target_only", {"augment": True})
    view = augmented.source_view(x, torch.Generator().manual_seed(0))
    assert view.shape == x.shape and not torch.allclose(view, x)
    from genadapt.families.adapt.methods.fixmatch import strong_view
    assert torch.equal(view, strong_view(x, torch.Generator().manual_seed(0)))  # the adaptation methods' strong view
