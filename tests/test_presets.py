import shutil

import pytest

from genadapt.core.errors import PipelineError
from genadapt.core.params import load_params
from genadapt.presets import apply_preset, backup_path, undo


@pytest.fixture
def params_file(repo, tmp_path):
    shutil.copy(repo / "params.yaml", tmp_path / "params.yaml")
    return tmp_path / "params.yaml"


def test_the_real_digit_presets_give_the_tables_pairs_and_unknown_keys_are_refused(repo, params_file, tmp_path):
    apply_preset(repo / "presets" / "real_data.yaml", params_file)
    apply_preset(repo / "presets" / "dann_real_cpu.yaml", params_file)
    params = load_params(params_file, families=None)
    pairs = params.instances("adapt")
    assert sorted(pairs) == ["mnist-mnistm", "mnistm-usps", "usps-mnistm"]
    assert (pairs["usps-mnistm"].source, pairs["usps-mnistm"].target) == ("usps", "mnistm")
    assert {cfg.steps for cfg in pairs.values()} == {2400} and pairs["usps-mnistm"].seeds == 3  # "*" after the new pair
    assert list(params.instances("pixel")) == ["pixel-mnist-mnistm"]
    assert params.instance("pixel-mnist-mnistm")[1].width == 32 and params.instance("mnist-mnistm")[1].width == 16
    assert all("fixmatch" in cfg.methods and cfg.width == 16 for cfg in pairs.values())
    assert {name: cfg.source_texture for name, cfg in pairs.items()} == {"mnist-mnistm": 0.8, "mnistm-usps": 0.0, "usps-mnistm": 0.8}
    assert pairs["usps-mnistm"].settings["fixmatch"] == {"zoom": 1.4} and pairs["mnist-mnistm"].settings["fixmatch"] == {"steps_scale": 3.0}
    assert "&id0" not in params_file.read_text()  # "*"'s list copied into each pair, not a YAML anchor and aliases
    bad = tmp_path / "bad.yaml"
    bad.write_text("evaluate:\n  no_such_knob: 1\n")
    with pytest.raises(PipelineError, match="preset: unknown key 'evaluate.no_such_knob'"):
        apply_preset(bad, params_file)
    bad.write_text("models:\n  gan:\n    nogan: {steps: 3}\n")  # a new instance must be complete
    with pytest.raises(PipelineError, match="models.gan.nogan.kind: None is not one of"):
        apply_preset(bad, params_file)
    bad.write_text("models:\n  gan:\n    nogan: null\n")
    with pytest.raises(PipelineError, match="unknown model models.gan.nogan"):
        apply_preset(bad, params_file)


def test_the_face_presets_give_the_faces_recipe_and_leave_the_digit_gans_alone(repo, params_file):
    apply_preset(repo / "presets" / "real_data.yaml", params_file)
    apply_preset(repo / "presets" / "celeba_cpu.yaml", params_file)
    cpu = load_params(params_file, families=None)
    for name in ("dcgan", "acgan-faces"):
        cfg = cpu.instance(name)[1]
        assert (cfg.steps, cfg.ema_decay, cfg.augment, cfg.ngf) == (6000, 0.999, "", 32), name
    assert cpu.instance("acgan-faces")[1].condition_weight == 4.0  # the instance's own value survives
    assert cpu.instance("infogan")[1].ema_decay == 0.99
    apply_preset(repo / "presets" / "course_gpu.yaml", params_file)
    gpu = load_params(params_file, families=None)
    assert [gpu.instance(name)[1].ema_decay for name in ("dcgan", "acgan-faces", "acgan-digits", "infogan")] == [0.999, 0.999, 0.99, 0.99]
    assert {gpu.instance(name)[1].ngf for name in ("dcgan", "acgan-faces")} == {64}


def test_the_full_preset_adds_the_extra_models_and_pairs(repo, params_file):
    default = load_params(params_file, families=None)
    apply_preset(repo / "presets" / "full.yaml", params_file)
    full = load_params(params_file, families=None)
    assert set(full.instances("gan")) - set(default.instances("gan")) == {"wgan-gp"}
    assert set(full.instances("cyclegan")) - set(default.instances("cyclegan")) == {"cycle-mnist-mnistm"}
    assert set(full.instances("adapt")) - set(default.instances("adapt")) == {"mnist-mnistm", "mnist-usps"}
    assert sorted(full.instances("pixel")) == ["pixel-mnist-mnistm", "pixel-svhn-mnistm"]
    assert full.instance("wgan-gp")[1].kind == "wgan-gp" and full.instance("dcgan")[1] == default.instance("dcgan")[1]


def test_the_float32_preset_turns_bf16_off_everywhere_and_changes_nothing_else(repo, params_file):
    default = load_params(params_file, families=None)
    apply_preset(repo / "presets" / "float32.yaml", params_file)
    f32 = load_params(params_file, families=None)
    for family in ("vae", "gan", "cyclegan"):
        for name, cfg in f32.instances(family).items():
            assert cfg.amp is False and cfg.model_copy(update={"amp": True}) == default.instance(name)[1], name
    assert f32.classifier.amp is False and f32.classifier.model_copy(update={"amp": True}) == default.classifier
    assert f32.evaluate.amp is False and f32.evaluate.model_copy(update={"amp": True}) == default.evaluate
    assert f32.instances("adapt") == default.instances("adapt")


def test_a_family_wide_preset_reaches_every_instance_and_keeps_their_own_values(repo, params_file):
    apply_preset(repo / "presets" / "smoke.yaml", params_file)
    params = load_params(params_file, families=None)
    for name in params.instances("gan"):
        cfg = params.instance(name)[1]
        assert (cfg.steps, cfg.ngf, cfg.n_generate) == (10, 8, 12), name  # presets/smoke.yaml's "*"
    assert params.instance("acgan-digits")[1].image_size == 32  # the instance's own choice survives


def test_a_preset_removes_an_instance_set_to_null_and_checks_what_named_it(params_file, tmp_path):
    preset = tmp_path / "fewer.yaml"
    preset.write_text("models:\n  cyclegan:\n    cycle-svhn-mnistm: null\n")
    with pytest.raises(PipelineError, match="models.pixel.pixel-svhn-mnistm.translator: 'cycle-svhn-mnistm' is not"):
        apply_preset(preset, params_file)  # a pixel instance still names it
    preset.write_text("models:\n  cyclegan:\n    cycle-svhn-mnistm: null\n  pixel:\n    pixel-svhn-mnistm: null\n")
    apply_preset(preset, params_file)
    params = load_params(params_file, families=None)
    assert sorted(params.instances("cyclegan")) == ["cartoon-anime"]
    assert list(params.instances("pixel")) == []


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
