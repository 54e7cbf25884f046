import shutil

import pytest

from genadapt.core.errors import PipelineError
from genadapt.core.params import load_params
from genadapt.presets import apply_preset, backup_path, undo


@pytest.fixture
def params_file(repo, tmp_path):
    shutil.copy(repo / "params.yaml", tmp_path / "params.yaml")
    return tmp_path / "params.yaml"


def test_presets_replace_dann_pairs_whole_and_reject_unknown_keys(repo, params_file, tmp_path):
    apply_preset(repo / "presets" / "dann_real_cpu.yaml", params_file)
    pairs = load_params(params_file).dann.pairs
    assert sorted(pairs) == ["mnist-mnistm", "mnistm-usps", "usps-mnistm"]
    assert (pairs["usps-mnistm"].source, pairs["usps-mnistm"].target) == ("usps", "mnistm")
    assert list(load_params(params_file).dann.pixel_pairs) == ["mnist-mnistm"]  # replaced whole too
    bad = tmp_path / "bad.yaml"
    bad.write_text("dann:\n  no_such_knob: 1\n")
    with pytest.raises(PipelineError, match="preset: unknown key 'dann.no_such_knob'"):
        apply_preset(bad, params_file)
    bad.write_text("models:\n  gan:\n    nogan: {steps: 3}\n")  # a new instance must be complete
    with pytest.raises(PipelineError, match="models.gan.nogan.kind: None is not one of"):
        apply_preset(bad, params_file)
    bad.write_text("models:\n  gan:\n    nogan: null\n")
    with pytest.raises(PipelineError, match="unknown model models.gan.nogan"):
        apply_preset(bad, params_file)


def test_the_full_preset_adds_the_extra_models_and_pairs(repo, params_file):
    default = load_params(params_file, families=None)
    apply_preset(repo / "presets" / "full.yaml", params_file)
    full = load_params(params_file, families=None)
    assert set(full.instances("gan")) - set(default.instances("gan")) == {"wgan-gp"}
    assert set(full.instances("cyclegan")) - set(default.instances("cyclegan")) == {"cycle-mnist-mnistm"}
    assert sorted(full.dann.pairs) == sorted([*default.dann.pairs, "mnist-mnistm", "mnist-usps"])
    assert sorted(full.dann.pixel_pairs) == ["mnist-mnistm", "svhn-mnistm"]
    assert full.instance("wgan-gp")[1].kind == "wgan-gp" and full.instance("dcgan")[1] == default.instance("dcgan")[1]


def test_a_family_wide_preset_reaches_every_instance_and_keeps_their_own_values(repo, params_file):
    apply_preset(repo / "presets" / "smoke.yaml", params_file)
    params = load_params(params_file, families=None)
    for name in params.instances("gan"):
        cfg = params.instance(name)[1]
        assert (cfg.steps, cfg.ngf, cfg.n_generate) == (10, 8, 24), name  # presets/smoke.yaml's "*"
    assert params.instance("acgan-digits")[1].image_size == 32  # the instance's own choice survives


def test_a_preset_removes_an_instance_set_to_null_and_checks_what_named_it(params_file, tmp_path):
    preset = tmp_path / "fewer.yaml"
    preset.write_text("models:\n  cyclegan:\n    cycle-svhn-mnistm: null\n")
    with pytest.raises(PipelineError, match="dann.pixel_pairs.svhn-mnistm.translator: 'cycle-svhn-mnistm' is not"):
        apply_preset(preset, params_file)  # a pixel pair still names it
    preset.write_text("models:\n  cyclegan:\n    cycle-svhn-mnistm: null\ndann:\n  pixel_pairs: {}\n")
    apply_preset(preset, params_file)
    params = load_params(params_file, families=None)
    assert sorted(params.instances("cyclegan")) == ["cartoon-anime"]
    assert list(params.dann.pixel_pairs) == []


def test_undo_restores_the_users_own_file(repo, params_file, tmp_path):
    edited = params_file.read_text().replace("seed: 0", "seed: 7  # my edit")
    params_file.write_text(edited)
    apply_preset(repo / "presets" / "smoke.yaml", params_file)
    apply_preset(repo / "presets" / "real_data.yaml", params_file)
    assert load_params(params_file).seed == 7 and "embedded" not in str(load_params(params_file).data.faces.source)
    undo(params_file)
    assert params_file.read_text() == edited and not backup_path(params_file).exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []


def test_an_invalid_preset_leaves_the_file_untouched(params_file, tmp_path):
    before = params_file.read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text("models:\n  gan:\n    dcgan: {lr_g: -1}\n")
    with pytest.raises(PipelineError, match="models.gan.dcgan.lr_g"):
        apply_preset(bad, params_file)
    assert params_file.read_text() == before and not backup_path(params_file).exists()
