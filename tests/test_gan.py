import numpy as np
import pytest
import torch
from conftest import InterruptAt

from genadapt.families.gan.kinds import get_kind
from genadapt.families.gan.shared.latent import generate_images, sample_latent
from genadapt.families.gan.shared.model import Discriminator, GANConfig, Generator
from genadapt.families.gan.training import GANData, train_gan
from genadapt.training.checkpointing import Checkpointer

GANS = ["dcgan", "acgan-faces", "acgan-digits", "infogan"]  # instances of the repository's params.yaml
ACGAN, DCGAN = get_kind("acgan"), get_kind("dcgan")


@pytest.mark.parametrize(
    "size, channels, n_classes, n_cat, n_cont", [(64, 3, 0, 0, 0), (32, 3, 10, 0, 0), (32, 1, 0, 10, 2), (16, 3, 2, 0, 0)]
)
def test_shapes(size, channels, n_classes, n_cat, n_cont):
    cfg = GANConfig(size, channels, nz=8, ngf=4, ndf=4, n_classes=n_classes, n_categorical=n_cat, n_continuous=n_cont)
    G, D = Generator(cfg), Discriminator(cfg)
    latent = sample_latent(cfg, 5, torch.Generator().manual_seed(0))
    assert latent.vector.shape == (5, cfg.latent_dim)
    x = G(latent.vector)
    assert x.shape == (5, channels, size, size) and -1 <= x.min() and x.max() <= 1
    out = D(x)
    assert out["adv"].shape == (5,)
    assert ("class" in out) == bool(n_classes) and ("cat" in out) == bool(n_cat)
    if n_classes:
        assert out["class"].shape == (5, n_classes)
    if n_cat:
        assert out["cat"].shape == (5, n_cat) and out["cont"].shape == (5, n_cont)
    images = generate_images(G.eval(), latent.vector)
    assert images.shape == (5, size, size, channels) and images.dtype == np.uint8


def test_weights_init_follows_dcgan():
    G = Generator(GANConfig(64, 3, nz=100, ngf=64, ndf=64))
    std = G.net[0].weight.std().item()
    assert 0.018 < std < 0.022


def _data(kind, channels=3):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (24, 16, 16, channels), dtype=np.uint8)
    if kind == "acgan":
        return GANData(images, (np.arange(24) % 10).astype(np.int64), 10)
    return GANData(images, None, 0)


@pytest.mark.parametrize("name", GANS)
def test_each_gan_trains_a_few_steps(tiny, name):
    cfg = tiny(name)
    kind = get_kind(cfg.kind)
    scores = []

    def score(G):
        with torch.no_grad():
            scores.append(float(G(sample_latent(G.cfg, 4, torch.Generator().manual_seed(0)).vector).abs().mean()))
        return {"score": -len(scores) if len(scores) == 1 else 0.0, "fd_classifier": 7.0}  # the first evaluation is the best

    G, curves, summary = train_gan(kind, cfg, _data(kind.name, cfg.channels), torch.device("cpu"), seed=0, quality_score=score)
    assert curves["step"].tolist() == list(range(1, 7))
    assert np.isfinite(curves[["loss_d", "loss_g"]].to_numpy()).all()
    assert len(scores) == 2 and summary == {"best_step": 3, "best_score": -1}
    assert curves.dropna(subset=["val_score"])["val_fd_classifier"].tolist() == [7.0, 7.0]
    assert set(kind.loss_columns) <= set(curves)
    assert G.cfg == kind.net_config(cfg, 10 if kind.name == "acgan" else 0)


def test_gan_resume_reproduces_uninterrupted_weights(tiny, tmp_path):
    cfg = tiny("acgan-digits", steps=9, eval_every=0)
    data, cpu = _data("acgan"), torch.device("cpu")
    reference, _, _ = train_gan(ACGAN, cfg, data, cpu, seed=0)

    checkpoint = Checkpointer(tmp_path / "gan.ckpt", "fp", every=4)
    with pytest.raises(KeyboardInterrupt):
        train_gan(ACGAN, cfg, data, cpu, seed=0, metrics=InterruptAt(7), checkpoint=checkpoint)
    resumed, curves, _ = train_gan(ACGAN, cfg, data, cpu, seed=0, checkpoint=checkpoint)
    assert curves["step"].tolist() == list(range(1, 10))
    for (name, a), b in zip(reference.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name


def test_recalibrated_copy_measures_batchnorm_statistics_on_the_inputs_and_leaves_the_model_alone():
    from genadapt.training.ema import recalibrated_copy

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)).train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    batches = list((torch.randn(48, 3) * 3 + 1).split(16))
    fresh = recalibrated_copy(net, batches)
    with torch.no_grad():
        pre_bn = [net[0](b) for b in batches]  # (16, 4) each
    assert torch.allclose(fresh[1].running_mean, torch.stack([p.mean(0) for p in pre_bn]).mean(0), atol=1e-6)
    assert torch.allclose(fresh[1].running_var, torch.stack([p.var(0) for p in pre_bn]).mean(0), atol=1e-5)
    assert not fresh.training and net.training
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_the_kept_generator_has_its_batchnorm_recalibrated_and_the_same_weights(tiny):
    data, cpu = _data("dcgan"), torch.device("cpu")
    runs = {n: train_gan(DCGAN, tiny("dcgan", steps=4, eval_every=0, bn_recalibration=n), data, cpu, seed=0)[0].state_dict()
            for n in (0, 64)}
    weights = [k for k in runs[0] if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    assert all(torch.equal(runs[0][k], runs[64][k]) for k in weights)
    assert not torch.allclose(runs[0]["net.1.running_mean"], runs[64]["net.1.running_mean"])


def test_divergence_is_a_clear_error(tiny):
    from genadapt.core.errors import PipelineError

    cfg = tiny("dcgan", lr_d=1e30, lr_g=1e30, steps=20, eval_every=0)
    with pytest.raises(PipelineError, match="dcgan: training diverged at step"):
        train_gan(DCGAN, cfg, _data("dcgan"), torch.device("cpu"), seed=0)


def test_aux_on_fake_switches_what_d_class_head_learns_from(tiny):
    """The ACGAN option is wired: fitting D's class head to fakes too changes the trained G."""
    data, cpu = _data("acgan"), torch.device("cpu")
    runs = [train_gan(ACGAN, tiny("acgan-digits", eval_every=0, aux_on_fake=flag), data, cpu, seed=0)[0]
            for flag in (False, True)]
    same = [torch.equal(a, b) for a, b in zip(runs[0].state_dict().values(), runs[1].state_dict().values())]
    assert not all(same)


def test_channels_last_changes_the_memory_format_not_the_result(tiny):
    """channels_last only reorders memory: a few steps give the same weights up to float rounding."""
    data, cpu = _data("acgan"), torch.device("cpu")
    cfgs = [tiny("acgan-digits", steps=3, eval_every=0, amp=False, channels_last=flag) for flag in (False, True)]
    runs = [train_gan(ACGAN, cfg, data, cpu, seed=0)[0] for cfg in cfgs]
    for (name, a), b in zip(runs[0].state_dict().items(), runs[1].state_dict().values()):
        assert torch.allclose(a.float(), b.float(), rtol=1e-3, atol=1e-4), name


def test_two_d_steps_per_g_step_train(tiny):
    """d_steps > 1 runs several D rounds per G update, and G still learns."""
    cfg = tiny("dcgan", steps=3, eval_every=0, d_steps=2)
    G, curves, _ = train_gan(DCGAN, cfg, _data("dcgan"), torch.device("cpu"), seed=0)
    torch.manual_seed(0)  # train_gan's initial weights
    untrained = Generator(DCGAN.net_config(cfg, 0))
    assert len(curves) == 3 and curves["loss_g"].notna().all()
    assert not torch.equal(G.net[0].weight, untrained.net[0].weight)


def test_a_conditional_gan_is_chosen_by_fd_classifier_and_its_intended_accuracy():
    from genadapt.families.gan.train import conditional_score

    assert conditional_score(30.0, 1.0, 2.0) == 30.0  # every image read as intended: fd_classifier alone
    assert conditional_score(30.0, 0.75, 2.0) == pytest.approx(45.0)
    # A checkpoint 10% worse in fd_classifier but reading its condition 0.95 instead of 0.7 is preferred.
    assert conditional_score(33.0, 0.95, 2.0) < conditional_score(30.0, 0.70, 2.0)
    assert conditional_score(33.0, 0.95, 0.0) > conditional_score(30.0, 0.70, 0.0)  # weight 0: fd_classifier only


def test_acgan_reads_the_intended_class_of_each_image(tiny):
    class Evaluator:  # predicts class 3 for every image; attributes: column 1 on
        def predict(self, images):
            return np.full(len(images), 3) if images.shape[-1] == 1 else np.tile([0, 1, 0], (len(images), 1))

        def output_index(self, name):
            return 1

    images = np.zeros((4, 16, 16, 1), np.uint8)
    digits = ACGAN.intended_correct(tiny("acgan-digits"), Evaluator(), images, np.array([3, 3, 2, 3]))
    assert digits.tolist() == [True, True, False, True]
    faces = ACGAN.intended_correct(tiny("acgan-faces"), Evaluator(), np.zeros((2, 16, 16, 3), np.uint8), np.array([1, 0]))
    assert faces.tolist() == [True, False]
    assert DCGAN.intended_correct(tiny("dcgan"), Evaluator(), images, np.array([3, 3, 3, 3])) is None
