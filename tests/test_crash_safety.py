"""Faults a long run meets: SIGKILL of a real training stage, corrupt checkpoints, failed MLflow runs,
outputs aimed at the checkout itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file
from stage_scripts import run_stage_in_process, run_stage_process

from genadapt.core.errors import PipelineError
from genadapt.core.outputs import atomic_dir, write_json
from genadapt.training.checkpointing import Checkpointer

REPO = Path(__file__).resolve().parents[1]
STEPS, EVERY = 200, 50  # VAE steps and checkpoint interval of the killed stage


def _workdir(root: Path) -> Path:
    """A folder with params.yaml (a small VAE, metrics flushed every 5 steps) and prepared faces."""
    from genadapt.core.params import EMBEDDED_ROOT, DatasetParams
    from genadapt.data.format.prepared import write_prepared
    from genadapt.data.prepare import prepare_dataset

    root.mkdir(parents=True)
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    raw["tracking"]["log_every"] = 5
    raw["models"]["vae"]["vae"] = {"dataset": "faces", "latent_dim": 8, "base_channels": 16, "batch_size": 16, "steps": STEPS,
                                   "checkpoint_every": EVERY, "kl_anneal_steps": 20}
    (root / "params.yaml").write_text(yaml.safe_dump(raw))
    data = root / "data"
    data.mkdir()
    source = DatasetParams(source="embedded", root=EMBEDDED_ROOT, n_train=64, n_test=16)
    write_prepared(data, "faces", "embedded", "faces", prepare_dataset("faces", source, 0))
    return root


def _train_cmd() -> list[str]:
    return [sys.executable, str(REPO / "stages" / "train.py"), "vae", "--data", "data", "--out", "models/vae", "--curves",
            "curves/vae.csv", "--checkpoints", "checkpoints/vae"]


def _env(workdir: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO / "src"), "MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'mlflow.db'}"}


def _run(workdir: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run(_train_cmd(), cwd=workdir, env=_env(workdir), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _kill_when(workdir: Path, ready) -> None:
    """Start the stage and SIGKILL it as soon as ``ready(stderr line)`` or the checkpoint test says so."""
    proc = subprocess.Popen(_train_cmd(), cwd=workdir, env=_env(workdir), stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:
            if ready(line):
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.wait(timeout=600)
    assert proc.returncode == -signal.SIGKILL, "the stage finished before it could be killed"


def _progress_step(line: str) -> int:
    """The step of a progress line 'train vae: step N/M ...' (off a terminal), else 0."""
    return int(line.split("step ")[1].split("/")[0]) if line.startswith("train vae: step ") else 0


@pytest.mark.slow
def test_sigkill_at_any_point_then_rerun_gives_the_uninterrupted_weights(tmp_path):
    reference = _workdir(tmp_path / "reference")
    _run(reference)
    workdir = _workdir(tmp_path / "killed")

    # 1. Killed before the first checkpoint: the rerun starts over.
    _kill_when(workdir, lambda line: 0 < _progress_step(line) < EVERY)
    assert not (workdir / "checkpoints/vae/vae.ckpt").exists()
    # 2. Killed right after a checkpoint (the progress line of the step after it), metrics of later steps already sent.
    _kill_when(workdir, lambda line: _progress_step(line) > EVERY)
    assert torch.load(workdir / "checkpoints/vae/vae.ckpt", weights_only=True)["step"] >= EVERY
    # 3. Killed during a checkpoint write: what that leaves is the writer's temporary beside the
    #    last complete checkpoint (written to a temporary, fsynced, then renamed).
    stale = workdir / "checkpoints/vae/.vae.ckpt.killed.tmp"
    stale.write_bytes(b"PK\x03\x04 half a zip")
    proc = _run(workdir)
    assert "resuming vae from step" in proc.stderr and f"of {STEPS}" in proc.stderr
    assert not stale.exists() and not (workdir / "checkpoints/vae/vae.ckpt").exists()

    expected = load_file(str(reference / "models/vae/vae.safetensors"))
    resumed = load_file(str(workdir / "models/vae/vae.safetensors"))
    assert expected.keys() == resumed.keys()
    for name in expected:
        assert torch.equal(expected[name], resumed[name]), name

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")
    run_id = yaml.safe_load((workdir / "models/vae/mlflow_run.json").read_text())["run_id"]
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and int(run.data.tags["resumed_from_step"]) >= EVERY
    steps = [m.step for m in client.get_metric_history(run_id, "loss")]
    assert sorted(steps) == list(range(1, STEPS + 1))  # every step once: none lost, none logged twice


@pytest.mark.parametrize("content", [b"", b"\0" * 4096, b"not a zip file at all", "truncated"])
def test_a_corrupt_checkpoint_is_a_warning_and_a_fresh_start(tmp_path, capsys, content):
    path = tmp_path / "m.ckpt"
    model = torch.nn.Linear(2, 2)
    good = Checkpointer(path, "fp", every=1)
    good.save(3, {"m": model}, torch.Generator())
    if content == "truncated":
        content = path.read_bytes()[: path.stat().st_size // 2]
    path.write_bytes(content)
    done, extra = Checkpointer(path, "fp", every=1).restore({"m": model}, torch.Generator(), 10)
    assert (done, extra) == (0, {})
    assert "unreadable checkpoint" in capsys.readouterr().err and not path.exists()


def test_a_checkpoint_holding_code_is_refused(tmp_path, capsys):
    """weights_only loading: a pickle that would build an arbitrary object is not executed."""
    path = tmp_path / "m.ckpt"
    torch.save({"fingerprint": "fp", "step": 1, "state": {}, "rng": {}, "extra": {"x": Path("/")}}, path)
    assert Checkpointer(path, "fp", every=1).restore({}, torch.Generator(), 10) == (0, {})
    assert "unreadable checkpoint" in capsys.readouterr().err


def test_stale_temporaries_are_removed_when_training_starts(tmp_path):
    (tmp_path / ".m.ckpt.abc.tmp").write_bytes(b"partial")
    (tmp_path / "other.tmp").write_bytes(b"not ours")
    Checkpointer(tmp_path / "m.ckpt", "fp", every=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.tmp"]


def test_outputs_never_replace_the_checkout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep.txt").write_text("mine")
    for dest in (".", tmp_path, tmp_path.parent, ".git/objects"):
        with pytest.raises(PipelineError, match="refusing to write an output"), atomic_dir(dest):
            pass
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_json_never_holds_nan(tmp_path):
    with pytest.raises(PipelineError, match="non-finite value .* for fid"):
        write_json(tmp_path / "m.json", {"fid": float("nan"), "n": 3})
    assert not (tmp_path / "m.json").exists()


@pytest.mark.parametrize("out", [".", "..", ".git", "../elsewhere"])
def test_a_stage_refuses_an_output_outside_the_repository(tmp_path, out):
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())
    (tmp_path / ".git").mkdir()
    run = run_stage_process if out == "." else run_stage_in_process  # a real process once, the other cases in this one
    proc = run(REPO / "stages" / "prepare_data.py", ["faces", "--out", out], tmp_path, f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [".git", "params.yaml"]


@pytest.mark.slow
def test_an_error_after_the_run_opened_ends_it_failed(tmp_path):
    workdir = _workdir(tmp_path / "w")
    raw = yaml.safe_load((workdir / "params.yaml").read_text())
    raw["models"]["vae"]["vae"].update(lr=1e30, steps=20)
    (workdir / "params.yaml").write_text(yaml.safe_dump(raw))
    proc = subprocess.run(_train_cmd(), cwd=workdir, env=_env(workdir), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2 and "training diverged" in proc.stderr
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("genadapt").experiment_id])
    assert run.info.status == "FAILED" and "training diverged" in run.data.tags["error"]
    assert not (workdir / "models").exists()


def test_creating_the_experiment_survives_a_worker_that_created_it_first():
    """Between this worker's lookup and its create, another queue worker created the experiment."""
    from types import SimpleNamespace

    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS

    from genadapt.core.tracking import _experiment_id

    class RacedClient:
        lookups = 0

        def get_experiment_by_name(self, name):
            self.lookups += 1
            return None if self.lookups == 1 else SimpleNamespace(experiment_id="7")

        def create_experiment(self, name, artifact_location=None):
            raise MlflowException(f"Experiment '{name}' already exists.", error_code=RESOURCE_ALREADY_EXISTS)

    assert _experiment_id(RacedClient(), "genadapt") == "7"


def test_workers_racing_on_a_fresh_store_all_get_the_experiment(tmp_path):
    """Three processes open a store that does not exist yet and create the same experiment at once
    (what `dvc queue start -j N` does on a fresh clone): none fails, all see one experiment."""
    code = "from genadapt.core import tracking; print(tracking._experiment_id(tracking._client(), 'raced'))"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'fresh.db'}"}
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err[-800:] for _, err in outs]
    assert len({out.strip() for out, _ in outs}) == 1
