
import numpy as np
import pandas as pd
import pytest
import torch
from conftest import InterruptAt

from genadapt.core.errors import PipelineError
from genadapt.core.params import parse_params
from genadapt.core.registry import StagePaths
from genadapt.families.adapt.methods.dann_st import class_balance_loss
from genadapt.families.adapt.report import selection_markdown
from genadapt.families.adapt.shared.loop import Domain, PairData, accuracy, grl_lambda, train_mode
from genadapt.families.adapt.shared.method import get_method
from genadapt.families.adapt.shared.network import DANN, DANNConfig, grad_reverse
from genadapt.families.adapt.shared.params import AdaptParams, Mode
from genadapt.training.checkpointing import Checkpointer


def test_gradient_reversal_flips_and_scales():
    x = torch.randn(4, 3, requires_grad=True)
    y = grad_reverse(x, 0.7)
    assert torch.equal(y, x)
    y.sum().backward()
    assert torch.allclose(x.grad, torch.full((4, 3), -0.7))


def test_schedules_follow_the_paper(raw_params):
    cfg = AdaptParams(source="mnist", target="usps")  # the family's defaults
    assert grl_lambda(0.0, 10.0) == 0.0 and grl_lambda(1.0, 10.0) == pytest.approx(0.99991, abs=1e-4)
    learning_rate = get_method("dann").learning_rate
    assert learning_rate(0.0, cfg) == cfg.lr
    assert learning_rate(1.0, cfg) == pytest.approx(cfg.lr / (1 + cfg.lr_alpha) ** cfg.lr_beta)


def test_class_balance_is_zero_when_balanced_and_log_k_when_collapsed():
    balanced = torch.zeros(8, 10)  # every prediction uniform
    assert class_balance_loss(balanced).item() == pytest.approx(0.0, abs=1e-6)
    one_each = torch.eye(10) * 50  # confident, one image per class: the mean is uniform
    assert class_balance_loss(one_each).item() == pytest.approx(0.0, abs=1e-6)
    collapsed = torch.zeros(8, 10)
    collapsed[:, 3] = 50  # every image confidently class 3
    assert class_balance_loss(collapsed).item() == pytest.approx(np.log(10), abs=1e-4)


def test_shapes():
    model = DANN(DANNConfig(channels=3, image_size=32, width=4, feature_dim=16))
    f, logits, domain = model(torch.rand(6, 3, 32, 32), 0.5)
    assert f.shape == (6, 16) and logits.shape == (6, 10) and domain.shape == (6,)
    assert model.conditional_domain_logits(f, logits.softmax(1), 0.5).shape == (6,)


def _tiny_pair(n=40):
    rng = np.random.default_rng(0)

    def domain(shift):
        labels = np.arange(n) % 10
        images = rng.integers(0, 60, (n, 16, 16, 3), dtype=np.uint8)
        for i, y in enumerate(labels):  # the class is a bright row, the domain a brightness offset
            images[i, y] = 200
        return Domain(np.clip(images.astype(int) + shift, 0, 255).astype(np.uint8), labels)

    return PairData(domain(0), domain(40), domain(40))


def _tiny_cfg(tiny, **overrides):
    return tiny("mnist-mnistm", **overrides)


@pytest.mark.parametrize("mode", ["source_only", "dann", "cdan_e", "dann_st", "self_ensembling", "target_only"])
def test_each_mode_trains_a_few_steps(tiny, mode):
    cfg = _tiny_cfg(tiny)
    model, curves, _ = train_mode(mode, cfg, _tiny_pair(), torch.device("cpu"), seed=0, class_balance=1.0)
    assert curves["step"].tolist() == list(range(1, 13))
    assert ("loss_domain" in curves) == (mode in ("dann", "cdan_e", "dann_st", "self_ensembling"))
    assert ("confident_fraction" in curves) == ("loss_class_balance" in curves) == (mode in ("dann_st", "self_ensembling"))
    assert np.isfinite(curves["loss"]).all()
    assert 0.0 <= accuracy(model, _tiny_pair().target_val) <= 1.0


@pytest.mark.parametrize("mode", ["dann", "dann_st"])
def test_the_weights_kept_are_the_best_on_validation(tiny, mode):
    """Scored every val_every steps and at the last; the model returned scores the curve's maximum
    on the validation split, and with val_every 0 it is the last step's."""
    data, cpu = _tiny_pair(), torch.device("cpu")
    model, curves, _ = train_mode(mode, _tiny_cfg(tiny, val_every=5), data, cpu, seed=0, class_balance=1.0)
    scored = curves.dropna(subset=["val_accuracy"])
    assert scored["step"].tolist() == [5, 10, 12]
    assert accuracy(model, data.target_val) == scored["val_accuracy"].max()
    last, curves, _ = train_mode(mode, _tiny_cfg(tiny, val_every=0), data, cpu, seed=0, class_balance=1.0)
    assert "val_accuracy" not in curves
    if scored["val_accuracy"].idxmax() != scored.index[-1]:
        assert any(not torch.equal(a, b) for a, b in zip(model.state_dict().values(), last.state_dict().values()))


def test_each_selection_rule_keeps_its_own_step_and_the_labelled_one_reads_at_most_val_labels(tiny, monkeypatch):
    """(a) the last step, (b) the best information maximisation on unlabelled validation images,
    (c) the best accuracy on the first val_labels labelled ones: each kept network scores its rule's maximum."""
    import genadapt.families.adapt.shared.loop as loop

    data, cpu = _tiny_pair(), torch.device("cpu")
    scored_sizes = []
    real_accuracy = loop.accuracy
    monkeypatch.setattr(loop, "accuracy", lambda model, domain: scored_sizes.append(len(domain.labels)) or real_accuracy(model, domain))
    cfg = _tiny_cfg(tiny, val_every=2, val_labels=25)
    model, curves, chosen = train_mode("dann_st", cfg, data, cpu, seed=0, class_balance=1.0)
    assert set(chosen) == set(loop.SELECTIONS) and chosen["labelled"] is model
    assert set(scored_sizes) == {25}  # never the 40 labels of the whole split
    scored = curves.dropna(subset=["val_accuracy"])
    first25 = Domain(data.target_val.images[:25], data.target_val.labels[:25])
    assert accuracy(chosen["labelled"], first25) == scored["val_accuracy"].max()
    im = loop.information_maximisation(loop.predicted_probabilities(chosen["unsupervised"], data.target_val.images))
    assert im == pytest.approx(scored["val_information"].max(), abs=1e-6)
    last, _, _ = train_mode("dann_st", _tiny_cfg(tiny, val_every=0), data, cpu, seed=0, class_balance=1.0)
    for a, b in zip(last.state_dict().values(), chosen["last"].state_dict().values()):
        assert torch.equal(a, b)


def test_information_maximisation_rewards_confident_balanced_predictions():
    from genadapt.families.adapt.shared.loop import information_maximisation

    k = 10
    assert information_maximisation(torch.eye(k)) == pytest.approx(np.log(k), abs=1e-5)  # one confident image per class
    assert information_maximisation(torch.full((k, k), 1 / k)) == pytest.approx(0.0, abs=1e-6)  # uniform
    collapsed = torch.zeros(k, k)
    collapsed[:, 3] = 1.0
    assert information_maximisation(collapsed) == pytest.approx(0.0, abs=1e-6)


def test_pixel_st_starts_from_the_pixel_network(tiny):
    """With ``init`` (pixel_st warm-started from pixel, CyCADA's order) training starts from those
    weights: at a vanishing learning rate the parameters stay where init put them, while a cold
    start stays at its own random initialisation."""
    data, cpu = _tiny_pair(), torch.device("cpu")
    pixel, _, _ = train_mode("source_only", _tiny_cfg(tiny), data, cpu, seed=0)
    still = _tiny_cfg(tiny, lr=1e-12, val_every=0)
    warm, _, _ = train_mode("dann_st", still, data, cpu, seed=1, class_balance=1.0, init=pixel)
    cold, _, _ = train_mode("dann_st", still, data, cpu, seed=1, class_balance=1.0)
    for (name, p), w in zip(pixel.named_parameters(), warm.parameters()):
        assert torch.allclose(p, w, atol=1e-6), name
    assert not all(torch.allclose(p, c, atol=1e-3) for p, c in zip(pixel.parameters(), cold.parameters()))


def test_pixel_st_starts_from_pixel_unless_warm_start_is_off(raw_params):
    """A pixel instance's columns: pixel is source_only on the translations, pixel_st is dann_st started
    from the same seed's pixel network (CyCADA's order); each run logs its method and settings."""
    from genadapt.families.adapt.train import _run_params

    cfg = parse_params(raw_params, families=("pixel",)).models["pixel"]["pixel-mnist-mnistm"]
    assert cfg.methods == ["pixel", "pixel_st"]
    assert (cfg.mode("pixel"), cfg.mode("pixel_st")) == (Mode("source_only"), Mode("dann_st", warm_start_from="pixel"))
    logged = _run_params(cfg, "pixel-mnist-mnistm", "pixel", "pixel_st", 0)
    assert logged["pixel-mnist-mnistm.warm_start"] is True and logged["adapt.method"] == "dann_st"
    raw_params["models"]["pixel"]["pixel-mnist-mnistm"]["warm_start"] = False
    cfg = parse_params(raw_params, families=("pixel",)).models["pixel"]["pixel-mnist-mnistm"]
    assert cfg.mode("pixel_st") == Mode("dann_st")


def assert_resume_matches_uninterrupted(mode, cfg, tmp_path, class_balance=1.0):
    """Training ``mode`` interrupted at step 8 (checkpoints every 5 steps) and resumed ends with the
    uninterrupted run's weights, to the bit."""
    data, cpu = _tiny_pair(), torch.device("cpu")
    reference, _, _ = train_mode(mode, cfg, data, cpu, seed=0, class_balance=class_balance)
    checkpoint = Checkpointer(tmp_path / f"{mode}.ckpt", "fp", every=5)
    with pytest.raises(KeyboardInterrupt):
        train_mode(mode, cfg, data, cpu, seed=0, metrics=InterruptAt(8), checkpoint=checkpoint, class_balance=class_balance)
    resumed, _, _ = train_mode(mode, cfg, data, cpu, seed=0, checkpoint=checkpoint, class_balance=class_balance)
    for a, b in zip(reference.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("mode", ["dann", "dann_st", "self_ensembling"])
def test_dann_resume_matches_uninterrupted(tiny, tmp_path, mode):
    cfg = _tiny_cfg(tiny, st_threshold=0.0, val_every=3)  # every target image pseudo-labelled
    assert_resume_matches_uninterrupted(mode, cfg, tmp_path)


def test_the_selection_table_gives_the_three_rules():
    values = {"dann": 0.7, "dann.std": 0.0, "val.dann": 0.69, "dann.last": 0.6, "dann.last.std": 0.0, "dann.unsupervised": 0.65,
              "dann.unsupervised.std": 0.0, "target_test_n": 100, "target_val_n": 30, "target_val_unlabelled_n": 40, "seeds": 1}
    assert "| a-b | dann | 0.600 | 0.650 | 0.700 | 100 | 40 / 30 | 1 |" in selection_markdown("a-b", values, ["dann"])
    several = values | {"dann.std": 0.02, "dann.last.std": 0.01, "dann.unsupervised.std": 0.03, "seeds": 3}
    row = "| a-b | dann | 0.600 ± 0.010 | 0.650 ± 0.030 | 0.700 ± 0.020 | 100 | 40 / 30 | 3 |"
    assert row in selection_markdown("a-b", several, ["dann"])


def test_pair_validation(raw_params):
    adapt = raw_params["models"]["adapt"]
    adapt["bad"] = {"source": "usps", "target": "usps"}
    with pytest.raises(PipelineError, match="models.adapt.bad.target: source and target are both 'usps'"):
        parse_params(raw_params)
    adapt["bad"] = {"source": "usps", "target": "cifar"}
    expected = "models.adapt.bad.target: Input should be 'mnist', 'usps', 'mnistm' or 'svhn' \\(got 'cifar'\\)"
    with pytest.raises(PipelineError, match=expected):
        parse_params(raw_params)
    adapt["bad"] = {"target": "svhn"}
    with pytest.raises(PipelineError, match="missing key 'models.adapt.bad.source'"):
        parse_params(raw_params)
    adapt["bad"] = {"source": "usps", "target": "svhn", "channels": 2}
    with pytest.raises(PipelineError, match="models.adapt.bad.channels: Input should be 1 or 3 \\(got 2\\)"):
        parse_params(raw_params)
    adapt["bad"] = {"source": "usps", "target": "svhn", "methods": ["dann", "mmd"]}
    with pytest.raises(PipelineError, match="models.adapt.bad.methods: 'mmd' is not one of cdan_e, dann, dann_st, "):
        parse_params(raw_params)
    adapt["bad"] = {"source": "usps", "target": "svhn", "methods": ["pixel"]}  # a pixel instance's column, not a method
    with pytest.raises(PipelineError, match="models.adapt.bad.methods: 'pixel' is not one of"):
        parse_params(raw_params)


def test_a_pixel_instance_sets_its_own_settings_and_logs_them(raw_params):
    """A pixel instance's width, steps, st_weight and class_balance are its own (the preset for the real
    digits sets them), validated like any instance's, and each run logs what it trained with."""
    from genadapt.families.adapt.train import _run_params

    raw_params["models"]["pixel"]["pixel-mnist-mnistm"].update(width=32, steps=4800, st_weight=3.0, class_balance=1.0)
    cfg = parse_params(raw_params, families=("pixel",)).models["pixel"]["pixel-mnist-mnistm"]
    assert (cfg.width, cfg.steps, cfg.st_weight, cfg.class_balance, cfg.lr) == (32, 4800, 3.0, 1.0, AdaptParams.model_fields["lr"].default)
    logged = _run_params(cfg, "pixel-mnist-mnistm", "pixel", "pixel_st", 0)
    assert (logged["pixel-mnist-mnistm.width"], logged["pixel-mnist-mnistm.steps"]) == (32, 4800)
    raw_params["models"]["pixel"]["pixel-mnist-mnistm"]["class_balance"] = -1.0
    with pytest.raises(PipelineError, match="models.pixel.pixel-mnist-mnistm.class_balance: Input should be greater than or equal to 0"):
        parse_params(raw_params)


def test_invert_source_adds_the_negatives_of_the_source_train_split(raw_params, tmp_path):
    from genadapt.data.format.prepared import PreparedSplit, write_prepared
    from genadapt.families.adapt.train import load_pair

    rng = np.random.default_rng(0)
    table = pd.DataFrame({"image_id": [f"{i}.png" for i in range(6)], "label": np.arange(6)})
    for name, channels in (("mnist", 1), ("mnistm", 3)):
        splits = {split: PreparedSplit(rng.integers(0, 256, (6, 32, 32, channels), dtype=np.uint8), table)
                  for split in ("train", "val", "test")}
        (tmp_path / name).mkdir()
        write_prepared(tmp_path / name, name, "embedded", "digits", splits)
    paths = StagePaths(data=tmp_path / "mnist", data_b=tmp_path / "mnistm")
    plain = load_pair(AdaptParams(source="mnist", target="mnistm", invert_source=False), paths)
    inverted = load_pair(AdaptParams(source="mnist", target="mnistm", invert_source=True), paths)
    assert len(inverted.source_train.images) == 12 and np.array_equal(inverted.source_train.labels, np.tile(np.arange(6), 2))
    assert np.array_equal(inverted.source_train.images[:6], plain.source_train.images)
    assert np.array_equal(inverted.source_train.images[6:], 255 - plain.source_train.images)
    for split in ("target_train", "target_val"):  # only the source's training split changes
        assert np.array_equal(getattr(inverted, split).images, getattr(plain, split).images)


def test_several_seeds_give_mean_and_std_and_a_run_per_seed(raw_params, tmp_path, monkeypatch):
    """seeds: 2 trains each mode twice (seeds seed and seed+1), reads the test split after
    training, and reports each seed's accuracy, their mean and std, and the validation accuracy."""
    from mlflow.tracking import MlflowClient

    from genadapt.core.params import EMBEDDED_ROOT, DatasetParams
    from genadapt.data.format.prepared import write_prepared
    from genadapt.data.prepare import prepare_dataset
    from genadapt.families.adapt.train import train

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    for name in ("mnist", "usps"):
        (tmp_path / name).mkdir()
        source = DatasetParams(source="embedded", root=EMBEDDED_ROOT, n_train=60, n_test=30)
        write_prepared(tmp_path / name, name, "embedded", "digits", prepare_dataset(name, source, 0))
    raw_params["models"]["adapt"]["mnist-usps"] |= {"width": 4, "batch_size": 8, "steps": 3, "checkpoint_every": 0,
                                                    "tsne_points": 10, "seeds": 2, "methods": ["source_only", "dann"]}
    params = parse_params(raw_params, families=("adapt",))
    metrics = train(params, "mnist-usps", StagePaths(data=tmp_path / "mnist", data_b=tmp_path / "usps", out=tmp_path / "models",
                                                     metrics=tmp_path / "m.json", generated=tmp_path / "figures",
                                                     checkpoints=tmp_path / "checkpoints"))
    for mode in ("source_only", "dann"):
        per_seed = [metrics[f"{mode}.seed0"], metrics[f"{mode}.seed1"]]
        assert metrics[mode] == pytest.approx(np.mean(per_seed)) and metrics[f"{mode}.std"] == pytest.approx(np.std(per_seed, ddof=1))
    assert metrics["seeds"] == 2 and metrics["target_test_n"] == 30 and metrics["target_val_n"] == 6
    assert {p.name for p in (tmp_path / "models").glob("*.safetensors")} == {
        "source_only.safetensors", "source_only.seed1.safetensors", "dann.safetensors", "dann.seed1.safetensors"}
    client = MlflowClient()
    runs = client.search_runs([client.get_experiment_by_name("genadapt").experiment_id], "tags.model = 'mnist-usps'")
    assert sorted((r.data.tags["adapt.mode"], r.data.params["seed"]) for r in runs) == [
        ("dann", "0"), ("dann", "1"), ("source_only", "0"), ("source_only", "1")]


def test_source_texture_changes_the_source_batches_only(tiny, monkeypatch):
    """``source_texture`` redraws labelled source batches (colour_texture) for every method that
    learns from the source, never the target's labelled batches of the upper bound."""
    import genadapt.families.adapt.shared.loop as loop

    data, cpu = _tiny_pair(), torch.device("cpu")
    calls = []
    real = loop.colour_texture
    monkeypatch.setattr(loop, "colour_texture", lambda x, g, p: calls.append((x.shape, p)) or real(x, g, p))
    for mode in ("source_only", "target_only"):
        plain, _, _ = train_mode(mode, _tiny_cfg(tiny, val_every=0), data, cpu, seed=0)
        textured, _, _ = train_mode(mode, _tiny_cfg(tiny, val_every=0, source_texture=1.0), data, cpu, seed=0)
        same = all(torch.equal(a, b) for a, b in zip(plain.state_dict().values(), textured.state_dict().values()))
        assert same == (mode == "target_only"), mode
    assert calls and all(p == 1.0 for _, p in calls) and len(calls) == 12  # every step of source_only, none of target_only


def test_an_interrupted_stage_reuses_a_finished_model_when_only_the_seeds_or_other_settings_change(raw_params, tmp_path, monkeypatch):
    """A stage stopped part-way keeps each finished model's weights and done marker; rerun after adding
    a seed or tuning another method, it reads them back, and retrains a model whose own settings changed."""
    from genadapt.families.adapt.train import _train_or_reuse

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    base = {"width": 4, "batch_size": 8, "steps": 3, "checkpoint_every": 0, "methods": ["source_only", "target_only"]}

    def run_id(mode, **overrides):
        raw_params["models"]["adapt"]["mnist-usps"] |= base | overrides
        params = parse_params(raw_params, families=("adapt",))
        _, run, _ = _train_or_reuse(params, "mnist-usps", mode, 0, mode, _tiny_pair(), torch.device("cpu"), tmp_path, {})
        return run

    first = {mode: run_id(mode, seeds=1) for mode in ("source_only", "target_only")}
    tuned = {"seeds": 3, "tsne_points": 12, "settings": {"target_only": {"augment": True}}}
    assert run_id("source_only", **tuned) == first["source_only"]  # reused
    assert run_id("target_only", **tuned) != first["target_only"]  # its own setting changed: retrained
    assert run_id("source_only", **tuned, steps=4) != first["source_only"]  # a shared setting retrains it
    # the "last" rule keeps the method's own last step: its steps_scale times the pair's steps
    raw_params["models"]["adapt"]["mnist-usps"]["settings"] = {"source_only": {"steps_scale": 2.0}}
    params = parse_params(raw_params, families=("adapt",))
    _, _, steps = _train_or_reuse(params, "mnist-usps", "source_only", 0, "scaled", _tiny_pair(), torch.device("cpu"), tmp_path, {})
    assert steps["last"] == 8
