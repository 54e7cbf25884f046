"""Team mode: the smoke pipeline's VAE branch logging into a real `mlflow server` on 127.0.0.1,
read back through the server's REST API alone."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
from test_pipeline_e2e import _commit, _make_clone, _run

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(base: str, endpoint: str, **query) -> dict:
    with urllib.request.urlopen(f"{base}{endpoint}?{urllib.parse.urlencode(query)}", timeout=30) as response:
        return json.loads(response.read())


def _post(base: str, endpoint: str, body: dict) -> dict:
    request = urllib.request.Request(f"{base}{endpoint}", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.fixture
def server(tmp_path):
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}", "--serve-artifacts",
         "--artifacts-destination", str(tmp_path / "server-artifacts")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/health", timeout=2)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"mlflow server exited: {proc.stderr.read()[-2000:]}")
            time.sleep(1)
    yield base
    proc.terminate()
    proc.wait(timeout=60)


def test_the_pipeline_logs_runs_metrics_and_images_to_a_tracking_server(server, tmp_path):
    clone = _make_clone(tmp_path / "repo", ["presets/smoke.yaml"])
    _commit(clone, "smoke")
    _run(["dvc", "repro", "generate-vae@vae", "evaluate-vae@vae"], clone, MLFLOW_TRACKING_URI=server)
    assert not (clone / "mlruns").exists()  # nothing went to the local store

    experiment = _get(server, "/api/2.0/mlflow/experiments/get-by-name", experiment_name="genadapt")["experiment"]
    runs = _post(server, "/api/2.0/mlflow/runs/search", {"experiment_ids": [experiment["experiment_id"]]})["runs"]
    (run,) = [r for r in runs if {"key": "model", "value": "vae"} in r["data"]["tags"]]
    assert run["info"]["status"] == "FINISHED"
    metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
    expected = json.loads((clone / "metrics/vae.json").read_text())["test_mse"]
    assert metrics["test_mse"] == pytest.approx(expected)
    params = {p["key"]: p["value"] for p in run["data"]["params"]}
    assert params["vae.steps"] == "20"
    history = _get(server, "/api/2.0/mlflow/metrics/get-history", run_id=run["info"]["run_id"], metric_key="recon_mse")
    assert sorted(m["step"] for m in history["metrics"]) == list(range(1, 21))
    listed = _get(server, "/api/2.0/mlflow/artifacts/list", run_id=run["info"]["run_id"], path="generated")
    assert {"generated/reconstructions.png", "generated/samples.png"} <= {f["path"] for f in listed["files"]}
    with urllib.request.urlopen(f"{server}/get-artifact?" + urllib.parse.urlencode(
            {"path": "generated/samples.png", "run_uuid": run["info"]["run_id"]}), timeout=30) as response:
        assert response.read()[:8] == b"\x89PNG\r\n\x1a\n"
    data_runs = _post(server, "/api/2.0/mlflow/runs/search", {"experiment_ids": [
        _get(server, "/api/2.0/mlflow/experiments/get-by-name", experiment_name="genadapt-data")["experiment"]["experiment_id"]]})
    assert any({"key": "stage", "value": "prepare-data@faces"} in r["data"]["tags"] for r in data_runs["runs"])
