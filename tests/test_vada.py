"""VADA (families/adapt/methods/vada.py): its terms on known inputs, the adversarial direction, the
published defaults, a few steps and exact resume."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_dann import _tiny_cfg, _tiny_pair, assert_resume_matches_uninterrupted

from genadapt.families.adapt.methods.vada import adversarial_direction, conditional_entropy, vat_loss
from genadapt.families.adapt.shared.loop import train_mode
from genadapt.families.adapt.shared.method import get_method

VADA = get_method("vada")


class Linear(torch.nn.Module):
    """logits = W x: a network of the DANN interface small enough to reason about."""

    def __init__(self, seed: int = 0):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(10, 3 * 4 * 4, generator=torch.Generator().manual_seed(seed)))

    def forward(self, x, lambda_=0.0):
        logits = x.flatten(1) @ self.weight.T
        return None, logits, None


def test_defaults_are_the_authors():
    assert (VADA.domain_weight, VADA.source_weight, VADA.target_weight) == (0.01, 1.0, 0.01)
    assert (VADA.lr, VADA.beta1, VADA.ema, VADA.radius) == (1e-3, 0.5, 0.998, 1.75)  # 3.5 on [-1, 1] images
    assert VADA.learning_rate(0.0, None) == VADA.learning_rate(0.9, None) == 1e-3


def test_conditional_entropy_is_zero_when_certain_and_log_k_when_uniform():
    assert conditional_entropy(torch.zeros(4, 10)).item() == pytest.approx(math.log(10), rel=1e-6)
    assert conditional_entropy(torch.eye(10) * 100).item() == pytest.approx(0.0, abs=1e-6)
    loss, logged = VADA.target_loss(torch.zeros(4, 10), None, None, lam=0.7, class_balance=1.0)
    assert loss.item() == pytest.approx(0.01 * math.log(10), rel=1e-6) and logged["loss_entropy"] == pytest.approx(math.log(10))


def test_the_adversarial_direction_is_a_unit_step_that_changes_the_prediction_most():
    model, x = Linear(), torch.rand(6, 3, 4, 4, generator=torch.Generator().manual_seed(1))
    probs = F.softmax(model(x)[1], 1).detach()
    d = adversarial_direction(model, x, probs, torch.Generator().manual_seed(2))
    assert d.shape == x.shape and torch.allclose(d.flatten(1).norm(dim=1), torch.ones(6), atol=1e-5)
    assert model.weight.grad is None  # the direction's search leaves the weights alone

    def divergence(step):  # (B,) KL of each image's prediction after the step
        return F.kl_div(F.log_softmax(model(x + 0.1 * step)[1], 1), probs, reduction="none").sum(1)

    random = torch.stack([divergence(F.normalize(torch.randn(x.shape, generator=torch.Generator().manual_seed(s)).flatten(1), dim=1)
                                     .view_as(x)) for s in range(20)])
    assert (divergence(d) > random.max(0).values).all()


def test_vat_is_zero_for_a_network_that_ignores_its_input_and_positive_otherwise():
    class Constant(Linear):
        def forward(self, x, lambda_=0.0):
            return None, self.weight[:, :1].T.expand(len(x), 10), None

    x, gen = torch.rand(4, 3, 4, 4), torch.Generator().manual_seed(0)
    constant = Constant()
    assert vat_loss(constant, x, constant(x)[1], radius=1.75, generator=gen).item() == pytest.approx(0.0, abs=1e-7)
    linear = Linear()
    assert vat_loss(linear, x, linear(x)[1], radius=1.75, generator=gen).item() > 1e-3


def test_a_few_steps_train_with_every_term_and_the_average_is_the_model_tested(tiny):
    model, curves, chosen = train_mode("vada", _tiny_cfg(tiny, val_every=0), _tiny_pair(), torch.device("cpu"), seed=0)
    assert curves["step"].tolist() == list(range(1, 13)) and not model.training
    terms = ["loss", "loss_domain", "loss_entropy", "loss_vat_source", "loss_vat_target"]
    assert np.isfinite(curves[terms].to_numpy()).all() and (curves["loss_vat_source"] > 0).any()
    assert (curves["lr"] == 1e-3).all() and chosen["last"] is not model


def test_resume_reproduces_the_uninterrupted_weights(tiny, tmp_path):
    assert_resume_matches_uninterrupted("vada", _tiny_cfg(tiny, val_every=3), tmp_path)
