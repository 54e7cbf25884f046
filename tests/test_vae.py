import numpy as np
import pandas as pd
import pytest
import torch
from conftest import InterruptAt

from genadapt.core.errors import PipelineError
from genadapt.data.format.prepared import PreparedSplit
from genadapt.families.vae.shared.model import VAE, VAEConfig, vae_loss
from genadapt.families.vae.training import kl_weight_at, train_vae
from genadapt.metrics.reconstruction import reconstruction_mse
from genadapt.training.checkpointing import Checkpointer


@pytest.mark.parametrize("size, channels", [(64, 3), (32, 1)])
def test_shapes(size, channels):
    model = VAE(VAEConfig(size, channels, latent_dim=8, base_channels=4))
    x = torch.rand(5, channels, size, size)
    recon, mu, logvar = model(x)
    assert recon.shape == x.shape and mu.shape == logvar.shape == (5, 8)
    assert 0 <= recon.min() and recon.max() <= 1
    assert model.sample(3).shape == (3, channels, size, size)


def test_rejects_bad_size():
    with pytest.raises(ValueError, match="power of two"):
        VAE(VAEConfig(28, 1, 8, 4))


def test_loss_terms():
    x = torch.rand(4, 3, 8, 8)
    mu, logvar = torch.zeros(4, 2), torch.zeros(4, 2)
    loss, recon, kl = vae_loss(x, x, mu, logvar, kl_weight=1.0)
    assert recon.item() == 0 and kl.item() == 0 and loss.item() == 0
    _, _, kl = vae_loss(x, x, torch.ones(4, 2), logvar, 1.0)
    assert kl.item() == pytest.approx(1.0)  # 0.5 * sum(mu^2) over 2 dims


def test_kl_annealing(tiny):
    cfg = tiny("vae", kl_weight=0.5, kl_anneal_steps=10)
    assert kl_weight_at(cfg, 5) == pytest.approx(0.25)
    assert kl_weight_at(cfg, 20) == pytest.approx(0.5)


def test_few_steps_train_reduces_loss_and_is_deterministic(tiny):
    cfg = tiny("vae", lr=3e-3, steps=30)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (32, 16, 16, 3), dtype=np.uint8)
    split = PreparedSplit(images, pd.DataFrame({"image_id": range(32)}))

    def run():
        return train_vae(cfg, split, torch.device("cpu"), seed=0)

    (model_a, curves_a), (_model_b, curves_b) = run(), run()
    assert curves_a["loss"].tolist() == curves_b["loss"].tolist()
    assert curves_a["loss"].iloc[-5:].mean() < curves_a["loss"].iloc[:5].mean()
    assert 0 < reconstruction_mse(model_a, images, torch.device("cpu")) < 1


def test_divergence_is_a_clear_error(tiny):
    cfg = tiny("vae", lr=1e30)
    split = PreparedSplit(np.full((16, 16, 16, 3), 255, np.uint8), pd.DataFrame({"image_id": range(16)}))
    with pytest.raises(PipelineError, match="vae: training diverged at step"):
        train_vae(cfg, split, torch.device("cpu"), seed=0)


def test_identity_reconstruction_has_zero_mse():
    class Identity(torch.nn.Module):
        def encode(self, x):
            return x, None

        def decode(self, z):
            return z

    images = np.random.default_rng(0).integers(0, 255, (7, 8, 8, 3), dtype=np.uint8)
    assert reconstruction_mse(Identity(), images, torch.device("cpu")) == 0


def test_resume_after_interruption_reproduces_uninterrupted_weights(tiny, tmp_path):
    cfg = tiny("vae", steps=25, kl_anneal_steps=10)
    images = np.random.default_rng(1).integers(0, 255, (40, 16, 16, 3), dtype=np.uint8)
    split = PreparedSplit(images, pd.DataFrame({"image_id": range(40)}))
    cpu = torch.device("cpu")
    reference, ref_curves = train_vae(cfg, split, cpu, seed=0)

    checkpoint = Checkpointer(tmp_path / "vae.ckpt", "fp", every=10)
    with pytest.raises(KeyboardInterrupt):
        train_vae(cfg, split, cpu, seed=0, metrics=InterruptAt(17), checkpoint=checkpoint)
    assert torch.load(tmp_path / "vae.ckpt", weights_only=True)["step"] == 10
    resumed, curves = train_vae(cfg, split, cpu, seed=0, checkpoint=checkpoint)
    assert curves["step"].tolist() == list(range(1, 26))
    assert curves["loss"].tolist() == ref_curves["loss"].tolist()
    for (name, a), b in zip(reference.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
    # A checkpoint written under other params is ignored: training starts from step 1.
    other = Checkpointer(tmp_path / "vae.ckpt", "other-fp", every=0)
    assert other.restore({}, torch.Generator(), 25) == (0, {})
