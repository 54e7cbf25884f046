"""Bad input to a stage: exit code 2, one line naming the culprit, no output left behind."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from stage_scripts import run_stage_in_process, run_stage_process

REPO = Path(__file__).resolve().parents[1]


def _stage_process(cwd: Path, script: str, *args: str) -> subprocess.CompletedProcess:
    """The stage as DVC starts it, a fresh interpreter (one test each for prepare_data.py, train.py and evaluate.py)."""
    return run_stage_process(REPO / "stages" / script, list(args), cwd, f"sqlite:///{cwd / 'mlflow.db'}")


def _stage(cwd: Path, script: str, *args: str) -> subprocess.CompletedProcess:
    """The same stage run in this process (no 5 s of imports): same exit status, same stderr."""
    return run_stage_in_process(REPO / "stages" / script, list(args), cwd, f"sqlite:///{cwd / 'mlflow.db'}")


@pytest.fixture
def workdir(tmp_path) -> Path:
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    return tmp_path


def _assert_one_line_error(proc, *fragments):
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_unknown_dataset(workdir):
    proc = _stage_process(workdir, "prepare_data.py", "cifar", "--out", "data/prepared/cifar")
    _assert_one_line_error(proc, "unknown dataset 'cifar'")
    assert not (workdir / "data").exists()


def test_bad_params_fail_before_any_work(workdir):
    text = (workdir / "params.yaml").read_text().replace("n_train: 4000", "n_train: many", 1)
    (workdir / "params.yaml").write_text(text)
    proc = _stage(workdir, "prepare_data.py", "faces", "--out", "data/prepared/faces")
    _assert_one_line_error(proc, "data.faces.n_train: Input should be a valid integer (got 'many')")
    assert not (workdir / "data").exists() and not (workdir / "mlflow.db").exists()


def test_unreadable_params(workdir):
    (workdir / "params.yaml").write_text("seed: [\n")
    proc = _stage(workdir, "train.py", "vae", "--data", "d", "--out", "models/vae", "--curves", "k.csv", "--checkpoints", "c")
    _assert_one_line_error(proc, "params.yaml: not valid YAML")


def test_missing_prepared_data(workdir):
    proc = _stage_process(workdir, "train.py", "vae", "--data", "data/prepared/faces", "--out", "models/vae", "--curves", "k.csv",
                  "--checkpoints", "c")
    _assert_one_line_error(proc, "data/prepared/faces/meta.json: not found")
    assert not (workdir / "models").exists()


def test_unknown_model(workdir):
    proc = _stage(workdir, "generate.py", "vqvae", "--model-dir", "m", "--data", "d", "--out", "g")
    _assert_one_line_error(proc, "unknown model 'vqvae'")


def test_corrupt_weights(workdir):
    model_dir = workdir / "models" / "vae"
    model_dir.mkdir(parents=True)
    (model_dir / "vae.json").write_text('{"image_size": 64, "channels": 3, "latent_dim": 8, "base_channels": 4}')
    (model_dir / "vae.safetensors").write_bytes(b"not a tensor file")
    data = workdir / "data"
    from genadapt.core.params import EMBEDDED_ROOT, DatasetParams
    from genadapt.data.format.prepared import write_prepared
    from genadapt.data.prepare import prepare_dataset

    data.mkdir()
    source = DatasetParams(source="embedded", root=EMBEDDED_ROOT, n_train=2, n_test=2)
    write_prepared(data, "faces", "embedded", "faces", prepare_dataset("faces", source, 0))
    proc = _stage_process(workdir, "evaluate.py", "vae", "--model-dir", str(model_dir), "--data", str(data), "--out", "metrics/vae.json")
    _assert_one_line_error(proc, "vae.safetensors: cannot load weights")
    assert not (workdir / "metrics").exists()


@pytest.mark.parametrize("model, edit, fragment", [
    ("dcgan", {"lr_g": float("nan")}, "models.gan.dcgan.lr_g: expected a finite number, got nan"),
    ("dcgan", {"lr_d": float("inf")}, "models.gan.dcgan.lr_d: expected a finite number, got inf"),
    ("dcgan", {"ema_decay": 1.5}, "models.gan.dcgan.ema_decay: Input should be less than 1"),
    ("dcgan", {"label_flip": 2}, "models.gan.dcgan.label_flip: Input should be less than or equal to 1"),
    ("dcgan", {"real_label": [1, 0]}, "models.gan.dcgan.real_label: [1.0, 0.0] must be [low, high]"),
    ("dcgan", {"image_size": 48}, "models.gan.dcgan.image_size: 48 is not a power of two"),
    ("vae", {"dataset": "mnist"}, "models.vae.vae.dataset: mnist images are 28x28"),
    ("acgan-digits", {"dataset": "faces"}, "models.gan.acgan-digits.condition: 'label' does not fit dataset 'faces'"),
])
def test_bad_model_values_stop_the_train_stage_before_any_mlflow_run(workdir, model, edit, fragment):
    import yaml

    raw = yaml.safe_load((workdir / "params.yaml").read_text())
    family = next(f for f, instances in raw["models"].items() if model in instances)
    raw["models"][family][model].update(edit)
    (workdir / "params.yaml").write_text(yaml.safe_dump(raw))
    proc = _stage(workdir, "train.py", model, "--data", "d", "--out", f"models/{model}", "--curves", "k.csv", "--checkpoints", "c")
    _assert_one_line_error(proc, fragment)
    assert not (workdir / "mlflow.db").exists() and not (workdir / "models").exists()


@pytest.mark.parametrize("edit, fragment", [
    (lambda raw: raw.update(seed=-5), "seed: Input should be greater than or equal to 0 (got -5)"),
    (lambda raw: raw["models"]["adapt"].update({"a; rm -rf ~": raw["models"]["adapt"]["mnistm-usps"]}),
     "models.adapt.a; rm -rf ~.[key]: String should match pattern"),
])
def test_bad_core_values_stop_every_stage(workdir, edit, fragment):
    import yaml

    raw = yaml.safe_load((workdir / "params.yaml").read_text())
    edit(raw)
    (workdir / "params.yaml").write_text(yaml.safe_dump(raw))
    proc = _stage(workdir, "prepare_data.py", "faces", "--out", "data/prepared/faces")
    _assert_one_line_error(proc, fragment)
    assert not (workdir / "data").exists() and not (workdir / "mlflow.db").exists()


def test_a_bad_adaptation_setting_stops_train_adapt_before_any_work(workdir):
    """An instance's settings are checked against the method's own fields before data is read or an MLflow run opens."""
    import yaml

    raw = yaml.safe_load((workdir / "params.yaml").read_text())
    raw["models"]["adapt"]["mnistm-usps"].update(methods=["source_only", "self_ensembling"],
                                                 settings={"self_ensembling": {"treshold": 0.9}})
    (workdir / "params.yaml").write_text(yaml.safe_dump(raw))
    proc = _stage(workdir, "train.py", "mnistm-usps", "--data", "d", "--data-b", "e", "--out", "models/mnistm-usps",
                  "--metrics", "m.json", "--generated", "f", "--checkpoints", "c")
    _assert_one_line_error(proc, "params.yaml: models.adapt.mnistm-usps.settings.self_ensembling.treshold: "
                                 "not a setting of self_ensembling")
    assert not (workdir / "mlflow.db").exists() and not (workdir / "models").exists() and not (workdir / "m.json").exists()


@pytest.mark.parametrize("model, args, fragment", [
    ("mnistm-usps", ["--metrics", "m.json", "--generated", "f"], "mnistm-usps (models.adapt): the stage needs --data-b"),
    ("mnistm-usps", ["--data-b", "e", "--metrics", "m.json", "--generated", "f", "--translator", "models/x"], "needs no --translator"),
    ("pixel-svhn-mnistm", ["--data-b", "e", "--metrics", "m.json", "--generated", "f"], "needs --translator"),
])
def test_an_adaptation_stage_missing_a_path_stops_in_one_line(workdir, model, args, fragment):
    proc = _stage(workdir, "train.py", model, "--data", "d", "--out", f"models/{model}", "--checkpoints", "c", *args)
    _assert_one_line_error(proc, fragment)
    assert not (workdir / "mlflow.db").exists() and not (workdir / "models").exists() and not (workdir / "m.json").exists()
