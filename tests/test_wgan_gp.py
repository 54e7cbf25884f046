"""The WGAN-GP kind (families/gan/kinds/wgan_gp.py): critic, gradient penalty, a few training steps."""

import contextlib

import numpy as np
import pytest
import torch
from torch import nn

from genadapt.families.gan.kinds import get_kind
from genadapt.families.gan.shared.kind import DiscriminatorBatch
from genadapt.families.gan.shared.latent import sample_latent
from genadapt.families.gan.training import GANData, train_gan

WGAN = get_kind("wgan-gp")


def test_defaults_follow_the_paper(tiny):
    cfg = tiny("wgan-gp")
    assert (cfg.gp_weight, cfg.d_steps, cfg.beta1, cfg.beta2, cfg.lr_d) == (10.0, 5, 0.0, 0.9, 1e-4)
    assert (cfg.label_flip, cfg.instance_noise) == (0.0, 0.0)


def test_the_critic_has_no_batch_norm(tiny):
    cfg = tiny("wgan-gp")
    critic = WGAN.discriminator(WGAN.net_config(cfg, 0))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in critic.modules())
    assert any(isinstance(m, nn.GroupNorm) for m in critic.modules())
    assert critic(torch.randn(3, 3, 16, 16))["adv"].shape == (3,)


class LinearCritic(nn.Module):
    """D(x) = <w, x> with ||w|| = norm: its gradient norm is ``norm`` everywhere."""

    def __init__(self, norm: float):
        super().__init__()
        w = torch.randn(3 * 16 * 16)
        self.w = nn.Parameter(w / w.norm() * norm)

    def forward(self, x):
        return {"adv": x.flatten(1) @ self.w}


@pytest.mark.parametrize("norm, penalty", [(1.0, 0.0), (2.0, 1.0), (0.5, 0.25)])
def test_gradient_penalty_is_the_squared_distance_of_the_gradient_norm_from_one(tiny, norm, penalty):
    cfg = tiny("wgan-gp")
    net = WGAN.net_config(cfg, 0)
    G = nn.Sequential(nn.Linear(net.latent_dim, 3 * 16 * 16), nn.Tanh(), nn.Unflatten(1, (3, 16, 16)))
    generator = torch.Generator().manual_seed(0)
    batch = DiscriminatorBatch(D=LinearCritic(norm), G=G, real=torch.rand(4, 3, 16, 16) * 2 - 1,
                               latent=sample_latent(net, 4, generator), conditions=None, cfg=cfg, generator=generator,
                               d_view=lambda x: x, to_device=lambda x: x, autocast=contextlib.nullcontext())
    result = WGAN.discriminator_step(batch)
    assert result.logged["gradient_penalty"] == pytest.approx(penalty, abs=1e-5)
    critic_gap = result.out_fake["adv"].mean() - result.out_real["adv"].mean()
    assert result.loss.item() == pytest.approx(critic_gap.item() + cfg.gp_weight * penalty, abs=1e-4)


def test_a_few_steps_train_and_log_the_penalty(tiny):
    cfg = tiny("wgan-gp", steps=3, eval_every=0)
    images = np.random.default_rng(0).integers(0, 255, (24, 16, 16, 3), dtype=np.uint8)
    G, curves, _ = train_gan(WGAN, cfg, GANData(images, None, 0), torch.device("cpu"), seed=0)
    assert curves["step"].tolist() == [1, 2, 3]
    assert np.isfinite(curves[["loss_d", "loss_g", "d_real", "d_fake", "gradient_penalty"]].to_numpy()).all()
    torch.manual_seed(0)  # train_gan's initial weights
    from genadapt.families.gan.shared.model import Generator

    assert not torch.equal(G.net[0].weight, Generator(WGAN.net_config(cfg, 0)).net[0].weight)
