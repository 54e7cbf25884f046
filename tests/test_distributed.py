"""The train command under torchrun: 2 CPU processes (gloo), DDP, rank 0 alone logs and writes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from genadapt.core.params import EMBEDDED_ROOT, DatasetParams, load_params
from genadapt.data.format.prepared import write_prepared
from genadapt.data.prepare import prepare_dataset
from genadapt.presets import apply_preset

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def test_torchrun_two_processes(tmp_path):
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    apply_preset(REPO / "presets" / "smoke.yaml", tmp_path / "params.yaml")
    text = (tmp_path / "params.yaml").read_text()
    (tmp_path / "params.yaml").write_text(text)
    params = load_params(tmp_path / "params.yaml", families=None)
    data = tmp_path / "data" / "faces"
    data.mkdir(parents=True)
    source = DatasetParams(source="embedded", root=EMBEDDED_ROOT, n_train=64, n_test=32)
    write_prepared(data, "faces", "embedded", "faces", prepare_dataset("faces", source, 0))
    from genadapt.evaluator.train import train as train_classifier

    train_classifier(params, data, tmp_path / "evaluator", tmp_path / "evaluator.json")

    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
           "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(REPO / "stages" / "train.py"), "dcgan", "--data", str(data), "--evaluator", str(tmp_path / "evaluator"),
           "--out", "models/dcgan", "--curves", "curves/gan/dcgan.csv", "--checkpoints", "checkpoints/dcgan"]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-6000:]

    curves = pd.read_csv(tmp_path / "curves/gan/dcgan.csv")
    assert curves["step"].tolist() == list(range(1, params.instance("dcgan")[1].steps + 1))
    assert curves[["loss_d", "loss_g"]].notna().all().all()
    assert (tmp_path / "models/dcgan/generator.safetensors").is_file()
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=env["MLFLOW_TRACKING_URI"])
    experiment = client.get_experiment_by_name(params.tracking.experiment)
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 1, "only rank 0 may create the MLflow run"
    assert runs[0].data.params["world_size"] == "2"
