"""Bad input to a stage: exit code 2, one line naming the culprit, no output left behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _stage(cwd: Path, script: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "MLFLOW_TRACKING_URI": f"sqlite:///{cwd / 'mlflow.db'}"}
    return subprocess.run([sys.executable, str(REPO / "stages" / script), *args], cwd=cwd, env=env,
                          capture_output=True, text=True)


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
    proc = _stage(workdir, "prepare_data.py", "cifar", "--out", "data/prepared/cifar")
    _assert_one_line_error(proc, "unknown dataset 'cifar'")
    assert not (workdir / "data").exists()


def test_bad_params_fail_before_any_work(workdir):
    text = (workdir / "params.yaml").read_text().replace("n_train: 4000", "n_train: many", 1)
    (workdir / "params.yaml").write_text(text)
    proc = _stage(workdir, "prepare_data.py", "faces", "--out", "data/prepared/faces")
    _assert_one_line_error(proc, "data.faces.n_train: expected an integer, got 'many'")
    assert not (workdir / "data").exists() and not (workdir / "mlflow.db").exists()


def test_unreadable_params(workdir):
    (workdir / "params.yaml").write_text("seed: [\n")
    proc = _stage(workdir, "train.py", "vae", "--data", "d", "--out", "models/vae", "--checkpoints", "c")
    _assert_one_line_error(proc, "params.yaml: not valid YAML")


def test_missing_prepared_data(workdir):
    proc = _stage(workdir, "train.py", "vae", "--data", "data/prepared/faces", "--out", "models/vae", "--checkpoints", "c")
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
    from genadapt.data.prepare import prepare_dataset
    from genadapt.data.prepared import write_prepared
    from genadapt.params import EMBEDDED_ROOT, DatasetParams

    data.mkdir()
    write_prepared(data, "faces", "embedded", "faces", prepare_dataset("faces", DatasetParams("embedded", EMBEDDED_ROOT, 2, 2), 0))
    proc = _stage(workdir, "evaluate.py", "vae", "--model-dir", str(model_dir), "--data", str(data), "--out", "metrics/vae.json")
    _assert_one_line_error(proc, "vae.safetensors: cannot load weights")
    assert not (workdir / "metrics").exists()
