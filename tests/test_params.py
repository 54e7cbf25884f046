import pytest

from genadapt.errors import PipelineError
from genadapt.params import load_params, parse_params


def test_repository_params_are_valid(repo):
    params = load_params(repo / "params.yaml")
    assert params.vae.dataset == "faces"
    assert params.data.get("mnist").n_train > 0


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda p: p["vae"].update(lrr=0.1), "unknown key 'vae.lrr'"),
        (lambda p: p["vae"].update(lr="fast"), "vae.lr: expected a float, got 'fast'"),
        (lambda p: p["vae"].update(steps=1.5), "vae.steps: expected an integer, got 1.5"),
        (lambda p: p["vae"].update(steps=True), "vae.steps: expected an integer, got True"),
        (lambda p: p["vae"].update(steps=0), "vae.steps: 0 is below the minimum 1"),
        (lambda p: p["vae"].update(device="tpu"), "vae.device: 'tpu' is not one of auto, cpu, cuda"),
        (lambda p: p["vae"].pop("latent_dim"), "missing key 'vae.latent_dim'"),
        (lambda p: p["data"]["faces"].update(source="web"), "data.faces.source: 'web' is not one of embedded, celeba, folder"),
        (lambda p: p["data"]["usps"].update(source="celeba"), "data.usps.source: 'celeba' is not one of embedded, usps, folder"),
        (lambda p: p["data"]["mnist"].update(n_test=0), "data.mnist: embedded data needs n_train and n_test >= 1"),
        (lambda p: p.update(data=[1, 2]), "data: expected a mapping"),
        (lambda p: p.update(extra=1), "unknown key 'extra'"),
    ],
)
def test_bad_values_name_the_key(raw_params, mutate, message):
    mutate(raw_params)
    with pytest.raises(PipelineError) as info:
        parse_params(raw_params)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_numeric_strings_are_floats(raw_params):
    raw_params["vae"]["lr"] = "1e-4"  # how YAML 1.1 reads 1e-4
    assert parse_params(raw_params).vae.lr == 1e-4


def test_unreadable_params_file(tmp_path):
    (tmp_path / "params.yaml").write_text("vae: [unclosed\n")
    with pytest.raises(PipelineError, match="not valid YAML"):
        load_params(tmp_path / "params.yaml")
    with pytest.raises(PipelineError, match="file not found"):
        load_params(tmp_path / "missing.yaml")


def test_unknown_dataset_name(repo):
    with pytest.raises(PipelineError, match="unknown dataset 'cifar'"):
        load_params(repo / "params.yaml").data.get("cifar")


def test_presets_replace_dann_pairs_whole_and_reject_unknown_keys(repo, tmp_path):
    import shutil

    from genadapt.presets import apply_preset

    params_file = tmp_path / "params.yaml"
    shutil.copy(repo / "params.yaml", params_file)
    apply_preset(repo / "presets" / "dann_real_cpu.yaml", params_file)
    pairs = load_params(params_file).dann.pairs
    assert sorted(pairs) == ["mnist-mnistm", "mnistm-usps", "usps-mnistm"]
    assert (pairs["usps-mnistm"].source, pairs["usps-mnistm"].target) == ("usps", "mnistm")
    bad = tmp_path / "bad.yaml"
    bad.write_text("vae:\n  no_such_knob: 1\n")
    with pytest.raises(PipelineError, match="preset: unknown key 'vae.no_such_knob'"):
        apply_preset(bad, params_file)
