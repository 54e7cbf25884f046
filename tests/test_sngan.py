"""The SNGAN kind (families/gan/kinds/sngan.py): spectral norm in D, the hinge loss, R1, a few steps."""

import contextlib

import numpy as np
import pytest
import torch
from conftest import InterruptAt
from test_wgan_gp import LinearCritic  # D(x) = <w, x>: input gradient of squared norm norm**2 everywhere
from torch import nn
from torch.nn.utils import parametrize

from genadapt.families.gan.kinds import get_kind
from genadapt.families.gan.kinds.sngan import hinge_d_loss
from genadapt.families.gan.shared.kind import DiscriminatorBatch
from genadapt.families.gan.shared.latent import sample_latent
from genadapt.families.gan.training import GANData, train_gan
from genadapt.training.checkpointing import Checkpointer

SNGAN = get_kind("sngan")


def test_defaults_follow_the_paper(tiny):
    cfg = tiny("dcgan", kind="sngan")
    assert (cfg.lr_d, cfg.lr_g, cfg.beta1, cfg.beta2, cfg.d_steps) == (2e-4, 2e-4, 0.5, 0.999, 1)
    assert (cfg.label_flip, cfg.instance_noise, cfg.r1_gamma) == (0.0, 0.0, 0.0)


def test_every_weight_of_d_is_spectrally_normalised_and_d_has_no_batch_norm(tiny):
    D = SNGAN.discriminator(SNGAN.net_config(tiny("dcgan", kind="sngan"), 0))
    layers = [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert layers and all(parametrize.is_parametrized(m, "weight") for m in layers)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    D.train()
    with torch.no_grad():
        for _ in range(50):  # one power iteration per forward
            D(torch.randn(4, 3, 16, 16))
    for m in layers:
        sigma = torch.linalg.matrix_norm(m.weight.flatten(1), ord=2).item()
        assert sigma == pytest.approx(1.0, abs=0.05)


def test_hinge_loss_on_known_scores():
    # real: relu(1 - 2) = 0, relu(1 - 0.5) = 0.5 -> 0.25; fake: relu(1 - 2) = 0, relu(1 + 0) = 1 -> 0.5
    assert hinge_d_loss(torch.tensor([2.0, 0.5]), torch.tensor([-2.0, 0.0])).item() == pytest.approx(0.75)
    assert SNGAN.generator_adversarial_loss({"adv": torch.tensor([1.0, -3.0])}).item() == pytest.approx(1.0)


@pytest.mark.parametrize("gamma, norm", [(0.0, 2.0), (10.0, 2.0), (1.0, 0.5)])
def test_the_d_step_is_the_hinge_loss_plus_r1_on_the_real_images(tiny, gamma, norm):
    cfg = tiny("dcgan", kind="sngan", r1_gamma=gamma)
    net = SNGAN.net_config(cfg, 0)
    G = nn.Sequential(nn.Linear(net.latent_dim, 3 * 16 * 16), nn.Tanh(), nn.Unflatten(1, (3, 16, 16)))
    generator = torch.Generator().manual_seed(0)
    batch = DiscriminatorBatch(D=LinearCritic(norm), G=G, real=torch.rand(4, 3, 16, 16) * 2 - 1,
                               latent=sample_latent(net, 4, generator), conditions=None, cfg=cfg, generator=generator,
                               d_view=lambda x: x, to_device=lambda x: x, autocast=contextlib.nullcontext())
    result = SNGAN.discriminator_step(batch)
    hinge = hinge_d_loss(result.out_real["adv"], result.out_fake["adv"]).item()
    if gamma:
        assert result.logged["r1"] == pytest.approx(norm ** 2, rel=1e-4)
    else:
        assert "r1" not in result.logged
    assert result.loss.item() == pytest.approx(hinge + gamma / 2 * norm ** 2, rel=1e-4)


def _faces():
    return GANData(np.random.default_rng(0).integers(0, 255, (24, 16, 16, 3), dtype=np.uint8), None, 0)


def test_a_few_steps_with_r1_train_and_log_it(tiny):
    cfg = tiny("dcgan", kind="sngan", r1_gamma=1.0, steps=3, eval_every=0)
    _, curves, _ = train_gan(SNGAN, cfg, _faces(), torch.device("cpu"), seed=0)
    assert curves["step"].tolist() == [1, 2, 3]
    assert np.isfinite(curves[["loss_d", "loss_g", "d_real", "d_fake", "r1"]].to_numpy()).all()


def test_resume_reproduces_the_uninterrupted_weights(tiny, tmp_path):
    cfg, cpu = tiny("dcgan", kind="sngan", steps=9, eval_every=0), torch.device("cpu")
    reference, _, _ = train_gan(SNGAN, cfg, _faces(), cpu, seed=0)
    checkpoint = Checkpointer(tmp_path / "gan.ckpt", "fp", every=4)
    with pytest.raises(KeyboardInterrupt):
        train_gan(SNGAN, cfg, _faces(), cpu, seed=0, metrics=InterruptAt(7), checkpoint=checkpoint)
    resumed, _, _ = train_gan(SNGAN, cfg, _faces(), cpu, seed=0, checkpoint=checkpoint)
    for (name, a), b in zip(reference.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
