import json

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import InterruptAt

from genadapt.adaptation import get_method
from genadapt.adaptation.loop import Domain, PairData, accuracy, grl_lambda, train_mode
from genadapt.adaptation.methods.dann_st import class_balance_loss
from genadapt.adaptation.network import DANN, DANNConfig, grad_reverse
from genadapt.core.params import parse_params
from genadapt.dann_table import accuracy_table, markdown_table, selection_markdown
from genadapt.training.checkpointing import Checkpointer


def test_gradient_reversal_flips_and_scales():
    x = torch.randn(4, 3, requires_grad=True)
    y = grad_reverse(x, 0.7)
    assert torch.equal(y, x)
    y.sum().backward()
    assert torch.allclose(x.grad, torch.full((4, 3), -0.7))


def test_schedules_follow_the_paper(raw_params):
    cfg = parse_params(raw_params).dann
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


def _tiny_cfg(raw_params, **overrides):
    raw_params["dann"].update({"width": 4, "batch_size": 8, "steps": 12, "checkpoint_every": 5, **overrides})
    return parse_params(raw_params).dann


@pytest.mark.parametrize("mode", ["source_only", "dann", "cdan_e", "dann_st", "self_ensembling", "target_only"])
def test_each_mode_trains_a_few_steps(raw_params, mode):
    cfg = _tiny_cfg(raw_params)
    model, curves, _ = train_mode(mode, cfg, _tiny_pair(), torch.device("cpu"), seed=0, class_balance=1.0)
    assert curves["step"].tolist() == list(range(1, 13))
    assert ("loss_domain" in curves) == (mode in ("dann", "cdan_e", "dann_st", "self_ensembling"))
    assert ("confident_fraction" in curves) == ("loss_class_balance" in curves) == (mode in ("dann_st", "self_ensembling"))
    assert np.isfinite(curves["loss"]).all()
    assert 0.0 <= accuracy(model, _tiny_pair().target_val) <= 1.0


@pytest.mark.parametrize("mode", ["dann", "dann_st"])
def test_the_weights_kept_are_the_best_on_validation(raw_params, mode):
    """Scored every val_every steps and at the last; the model returned scores the curve's maximum
    on the validation split, and with val_every 0 it is the last step's."""
    data, cpu = _tiny_pair(), torch.device("cpu")
    model, curves, _ = train_mode(mode, _tiny_cfg(raw_params, val_every=5), data, cpu, seed=0, class_balance=1.0)
    scored = curves.dropna(subset=["val_accuracy"])
    assert scored["step"].tolist() == [5, 10, 12]
    assert accuracy(model, data.target_val) == scored["val_accuracy"].max()
    last, curves, _ = train_mode(mode, _tiny_cfg(raw_params, val_every=0), data, cpu, seed=0, class_balance=1.0)
    assert "val_accuracy" not in curves
    if scored["val_accuracy"].idxmax() != scored.index[-1]:
        assert any(not torch.equal(a, b) for a, b in zip(model.state_dict().values(), last.state_dict().values()))


def test_each_selection_rule_keeps_its_own_step_and_the_labelled_one_reads_at_most_val_labels(raw_params, monkeypatch):
    """(a) the last step, (b) the best information maximisation on unlabelled validation images,
    (c) the best accuracy on the first val_labels labelled ones: each kept network scores its rule's maximum."""
    import genadapt.adaptation.loop as loop

    data, cpu = _tiny_pair(), torch.device("cpu")
    scored_sizes = []
    real_accuracy = loop.accuracy
    monkeypatch.setattr(loop, "accuracy", lambda model, domain: scored_sizes.append(len(domain.labels)) or real_accuracy(model, domain))
    cfg = _tiny_cfg(raw_params, val_every=2, val_labels=25)
    model, curves, chosen = train_mode("dann_st", cfg, data, cpu, seed=0, class_balance=1.0)
    assert set(chosen) == set(loop.SELECTIONS) and chosen["labelled"] is model
    assert set(scored_sizes) == {25}  # never the 40 labels of the whole split
    scored = curves.dropna(subset=["val_accuracy"])
    first25 = Domain(data.target_val.images[:25], data.target_val.labels[:25])
    assert accuracy(chosen["labelled"], first25) == scored["val_accuracy"].max()
    im = loop.information_maximisation(loop.predicted_probabilities(chosen["unsupervised"], data.target_val.images))
    assert im == pytest.approx(scored["val_information"].max(), abs=1e-6)
    last, _, _ = train_mode("dann_st", _tiny_cfg(raw_params, val_every=0), data, cpu, seed=0, class_balance=1.0)
    for a, b in zip(last.state_dict().values(), chosen["last"].state_dict().values()):
        assert torch.equal(a, b)


def test_information_maximisation_rewards_confident_balanced_predictions():
    from genadapt.adaptation.loop import information_maximisation

    k = 10
    assert information_maximisation(torch.eye(k)) == pytest.approx(np.log(k), abs=1e-5)  # one confident image per class
    assert information_maximisation(torch.full((k, k), 1 / k)) == pytest.approx(0.0, abs=1e-6)  # uniform
    collapsed = torch.zeros(k, k)
    collapsed[:, 3] = 1.0
    assert information_maximisation(collapsed) == pytest.approx(0.0, abs=1e-6)


def test_pixel_st_starts_from_the_pixel_network(raw_params):
    """With ``init`` (pixel_st warm-started from pixel, CyCADA's order) training starts from those
    weights: at a vanishing learning rate the parameters stay where init put them, while a cold
    start stays at its own random initialisation."""
    data, cpu = _tiny_pair(), torch.device("cpu")
    pixel, _, _ = train_mode("source_only", _tiny_cfg(raw_params), data, cpu, seed=0)
    still = _tiny_cfg(raw_params, lr=1e-12, val_every=0)
    warm, _, _ = train_mode("dann_st", still, data, cpu, seed=1, class_balance=1.0, init=pixel)
    cold, _, _ = train_mode("dann_st", still, data, cpu, seed=1, class_balance=1.0)
    for (name, p), w in zip(pixel.named_parameters(), warm.parameters()):
        assert torch.allclose(p, w, atol=1e-6), name
    assert not all(torch.allclose(p, c, atol=1e-3) for p, c in zip(pixel.parameters(), cold.parameters()))


def test_pixel_st_runs_log_the_warm_start(raw_params):
    from genadapt.adaptation.study import _run_params

    params = parse_params(raw_params)
    assert _run_params(params, "mnist-mnistm", "pixel_st", 0)["dann.warm_start"] is True
    assert "dann.warm_start" not in _run_params(params, "mnist-mnistm", "pixel", 0)
    raw_params["dann"]["pixel_pairs"]["mnist-mnistm"]["warm_start"] = False
    assert _run_params(parse_params(raw_params), "mnist-mnistm", "pixel_st", 0)["dann.warm_start"] is False


@pytest.mark.parametrize("mode", ["dann", "dann_st", "self_ensembling"])
def test_dann_resume_matches_uninterrupted(raw_params, tmp_path, mode):
    cfg = _tiny_cfg(raw_params, st_threshold=0.0, val_every=3)  # every target example pseudo-labelled
    data, cpu = _tiny_pair(), torch.device("cpu")
    reference, _, _ = train_mode(mode, cfg, data, cpu, seed=0, class_balance=1.0)

    checkpoint = Checkpointer(tmp_path / f"{mode}.ckpt", "fp", every=5)
    with pytest.raises(KeyboardInterrupt):
        train_mode(mode, cfg, data, cpu, seed=0, metrics=InterruptAt(8), checkpoint=checkpoint, class_balance=1.0)
    resumed, _, _ = train_mode(mode, cfg, data, cpu, seed=0, checkpoint=checkpoint, class_balance=1.0)
    for a, b in zip(reference.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)


def test_accuracy_table_is_written(tmp_path):
    for pair, accs, seeds in (("a-b", (0.5, 0.7, 0.75, 0.9), 1), ("c-d", (0.2, 0.3, 0.35, 0.95), 3)):
        modes = dict(zip(("source_only", "dann", "cdan_e", "target_only"), accs))
        extra = {f"val.{m}": a - 0.01 for m, a in modes.items()} | {f"{m}.std": 0.02 for m in modes}
        (tmp_path / f"{pair}.json").write_text(json.dumps({**modes, **extra, "target_test_n": 100, "target_val_n": 40,
                                                           "seeds": seeds, "source": "x", "target": "y"}))
    modes = ("source_only", "dann", "cdan_e", "target_only")
    table = accuracy_table([tmp_path / "c-d.json", tmp_path / "a-b.json"], modes)
    assert list(table) == ["a-b", "c-d"] and table["a-b"]["dann"] == 0.7
    text = markdown_table(table, modes)
    assert "| a-b | 0.500 (0.490) | 0.700 (0.690) | 0.750 (0.740) | 0.900 (0.890) | 100 | 40 | 1 |" in text
    assert "| c-d | 0.200 ± 0.020 (0.190) | 0.300 ± 0.020 (0.290) |" in text  # several seeds: mean ± std


def test_the_selection_table_gives_the_three_rules(tmp_path):
    values = {"dann": 0.7, "dann.std": 0.0, "val.dann": 0.69, "dann.last": 0.6, "dann.last.std": 0.0, "dann.unsupervised": 0.65,
              "dann.unsupervised.std": 0.0, "target_test_n": 100, "target_val_n": 30, "target_val_unlabelled_n": 40, "seeds": 1}
    (tmp_path / "a-b.json").write_text(json.dumps(values))
    table = accuracy_table([tmp_path / "a-b.json"], ("dann",))
    assert "| a-b | dann | 0.600 | 0.650 | 0.700 | 100 | 40 / 30 | 1 |" in selection_markdown(table, ("dann",))


def test_pair_validation(raw_params):
    raw_params["dann"]["pairs"]["bad"] = {"source": "usps", "target": "usps", "channels": 3, "invert_source": False, "class_balance": 1.0}
    from genadapt.core.errors import PipelineError

    with pytest.raises(PipelineError, match="dann.pairs.bad: source and target are both 'usps'"):
        parse_params(raw_params)
    raw_params["dann"]["pairs"]["bad"] = {"source": "usps", "target": "cifar", "channels": 3, "invert_source": False, "class_balance": 1.0}
    with pytest.raises(PipelineError, match="dann.pairs.bad.target: Input should be 'mnist', 'usps', 'mnistm' or 'svhn' \\(got 'cifar'\\)"):
        parse_params(raw_params)


def test_a_pixel_pair_may_set_its_own_class_balance(raw_params):
    """pixel_st takes the pixel pair's class_balance when it sets one, the pair's otherwise; the
    other modes always take the pair's, and each run logs the weight it trained with."""
    from genadapt.adaptation.study import _run_params, class_balance
    from genadapt.core.errors import PipelineError

    raw_params["dann"]["pairs"]["mnist-mnistm"]["class_balance"] = 0.0
    params = parse_params(raw_params)
    assert class_balance(params, "mnist-mnistm", "pixel_st") == 0.0  # unset: the pair's
    raw_params["dann"]["pixel_pairs"]["mnist-mnistm"]["class_balance"] = 1.0
    params = parse_params(raw_params)
    assert class_balance(params, "mnist-mnistm", "pixel_st") == 1.0
    assert class_balance(params, "mnist-mnistm", "dann_st") == 0.0
    assert _run_params(params, "mnist-mnistm", "pixel_st", 0)["dann.class_balance"] == 1.0
    assert _run_params(params, "mnist-mnistm", "dann_st", 0)["dann.class_balance"] == 0.0
    raw_params["dann"]["pixel_pairs"]["mnist-mnistm"]["class_balance"] = -1.0
    with pytest.raises(PipelineError, match="dann.pixel_pairs.mnist-mnistm.class_balance: Input should be greater than or equal to 0"):
        parse_params(raw_params)


def test_a_pixel_pair_may_set_its_own_width_steps_and_st_weight(raw_params):
    """The pixel modes train with the pixel pair's width, steps and st_weight when it sets them, dann's
    otherwise; the other modes always with dann's, and each run logs what it trained with."""
    from genadapt.adaptation.study import _run_params, mode_config
    from genadapt.core.errors import PipelineError

    params = parse_params(raw_params)
    assert mode_config(params, "mnist-mnistm", "pixel_st") == params.dann  # unset: dann's
    raw_params["dann"]["pixel_pairs"]["mnist-mnistm"].update(width=32, steps=4800, st_weight=3.0)
    params = parse_params(raw_params)
    for mode in ("pixel", "pixel_st"):
        cfg = mode_config(params, "mnist-mnistm", mode)
        assert (cfg.width, cfg.steps, cfg.st_weight, cfg.lr) == (32, 4800, 3.0, params.dann.lr)
        logged = _run_params(params, "mnist-mnistm", mode, 0)
        assert (logged["dann.width"], logged["dann.steps"], logged["dann.st_weight"]) == (32, 4800, 3.0)
    assert mode_config(params, "mnist-mnistm", "dann_st") == params.dann
    assert _run_params(params, "mnist-mnistm", "dann_st", 0)["dann.steps"] == params.dann.steps
    raw_params["dann"]["pixel_pairs"]["mnist-mnistm"]["steps"] = 0
    with pytest.raises(PipelineError, match="dann.pixel_pairs.mnist-mnistm.steps: Input should be greater than or equal to 1"):
        parse_params(raw_params)


def test_pair_needs_its_channel_count(raw_params):
    from genadapt.core.errors import PipelineError

    raw_params["dann"]["pairs"]["bad"] = {"source": "usps", "target": "svhn"}
    with pytest.raises(PipelineError, match="missing key 'dann.pairs.bad.channels'"):
        parse_params(raw_params)
    raw_params["dann"]["pairs"]["bad"]["channels"] = 2
    with pytest.raises(PipelineError, match="dann.pairs.bad.channels: Input should be 1 or 3 \\(got 2\\)"):
        parse_params(raw_params)


def test_invert_source_adds_the_negatives_of_the_source_train_split(raw_params, tmp_path):
    from genadapt.adaptation.study import load_pair
    from genadapt.data.prepared import PreparedSplit, write_prepared

    rng = np.random.default_rng(0)
    table = pd.DataFrame({"image_id": [f"{i}.png" for i in range(6)], "label": np.arange(6)})
    for name, channels in (("mnist", 1), ("mnistm", 3)):
        splits = {split: PreparedSplit(rng.integers(0, 256, (6, 32, 32, channels), dtype=np.uint8), table)
                  for split in ("train", "val", "test")}
        (tmp_path / name).mkdir()
        write_prepared(tmp_path / name, name, "embedded", "digits", splits)
    raw_params["dann"]["pixel_pairs"] = {}  # their pairs are replaced below
    raw_params["dann"]["pairs"] = {
        "m": {"source": "mnist", "target": "mnistm", "channels": 3, "invert_source": False, "class_balance": 1.0}}
    plain = load_pair(parse_params(raw_params), "m", tmp_path)
    raw_params["dann"]["pairs"]["m"]["invert_source"] = True
    inverted = load_pair(parse_params(raw_params), "m", tmp_path)
    assert len(inverted.source_train.images) == 12 and np.array_equal(inverted.source_train.labels, np.tile(np.arange(6), 2))
    assert np.array_equal(inverted.source_train.images[:6], plain.source_train.images)
    assert np.array_equal(inverted.source_train.images[6:], 255 - plain.source_train.images)
    for split in ("target_train", "target_val"):  # only the source's training split changes
        assert np.array_equal(getattr(inverted, split).images, getattr(plain, split).images)


def test_several_seeds_give_mean_and_std_and_a_run_per_seed(raw_params, tmp_path, monkeypatch):
    """dann.seeds: 2 trains each mode twice (seeds seed and seed+1), reads the test split after
    training, and reports each seed's accuracy, their mean and std, and the validation accuracy."""
    from mlflow.tracking import MlflowClient

    from genadapt.adaptation.study import train_pair
    from genadapt.core.params import EMBEDDED_ROOT, DatasetParams
    from genadapt.data.prepare import prepare_dataset
    from genadapt.data.prepared import write_prepared

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    for name in ("mnist", "usps"):
        (tmp_path / name).mkdir()
        source = DatasetParams(source="embedded", root=EMBEDDED_ROOT, n_train=60, n_test=30)
        write_prepared(tmp_path / name, name, "embedded", "digits", prepare_dataset(name, source, 0))
    raw_params["dann"].update({"width": 4, "batch_size": 8, "steps": 3, "checkpoint_every": 0, "tsne_points": 10, "seeds": 2,
                               "modes": ["source_only", "dann"]})
    raw_params["dann"]["pixel_pairs"] = {}  # their pairs are replaced below
    raw_params["dann"]["pairs"] = {
        "mnist-usps": {"source": "mnist", "target": "usps", "channels": 3, "invert_source": False, "class_balance": 1.0}}
    params = parse_params(raw_params)
    metrics = train_pair(params, "mnist-usps", tmp_path, tmp_path / "models", tmp_path / "m.json", tmp_path / "figures",
                         tmp_path / "checkpoints")
    for mode in ("source_only", "dann"):
        per_seed = [metrics[f"{mode}.seed0"], metrics[f"{mode}.seed1"]]
        assert metrics[mode] == pytest.approx(np.mean(per_seed)) and metrics[f"{mode}.std"] == pytest.approx(np.std(per_seed, ddof=1))
    assert metrics["seeds"] == 2 and metrics["target_test_n"] == 30 and metrics["target_val_n"] == 6
    assert {p.name for p in (tmp_path / "models").glob("*.safetensors")} == {
        "source_only.safetensors", "source_only.seed1.safetensors", "dann.safetensors", "dann.seed1.safetensors"}
    client = MlflowClient()
    runs = client.search_runs([client.get_experiment_by_name("genadapt").experiment_id], "tags.model = 'dann'")
    assert sorted((r.data.tags["dann.mode"], r.data.params["seed"]) for r in runs) == [
        ("dann", "0"), ("dann", "1"), ("source_only", "0"), ("source_only", "1")]
