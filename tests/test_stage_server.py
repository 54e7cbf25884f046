"""The warm stage server: a stage handed to it runs as the stage process would, and dies with it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from genadapt.core import stage_server

REPO = Path(__file__).resolve().parents[1]
STAGE = """
import os, sys, time
from genadapt.core.cli import run_stage
from genadapt.core.errors import PipelineError

def main():
    print(f"pid={os.getpid()} cwd={os.getcwd()} argv={sys.argv[1:]} marker={os.environ.get('MARKER')} "
          f"stage_pid={os.environ.get('GENADAPT_STAGE_PID')}", flush=True)
    if sys.argv[1] == "sleep":
        time.sleep(3)
        open("late.txt", "w").write("the stage outlived its process")
    if sys.argv[1] == "fail":
        raise PipelineError("models.x.steps: must be positive")

if __name__ == "__main__":
    run_stage(main)
"""


@pytest.fixture
def served():
    """A fake stage script and the environment DVC gives a stage, with the server's socket beside it
    (in a short folder: a Unix socket's path has at most 107 bytes)."""
    tmp_path = Path(tempfile.mkdtemp(prefix="stage-server-"))
    script = tmp_path / "stage.py"
    script.write_text(STAGE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DVC_", "GENADAPT_"))}
    env.update(PYTHONPATH=str(REPO / "src"), DVC_STAGE="fake", DVC_ROOT=str(tmp_path), MARKER="first",
               GENADAPT_STAGE_SERVER_DIR=str(tmp_path))
    yield script, env
    lock = next(tmp_path.glob("*.sock.lock"), None)
    if lock is not None and lock.read_text().strip():
        try:
            os.kill(int(lock.read_text()), signal.SIGTERM)
        except ProcessLookupError:
            pass
    shutil.rmtree(tmp_path, ignore_errors=True)


def _stage(script: Path, env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(script), *args], cwd=script.parent, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for_server(folder: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for path in folder.glob("*.sock"):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                if probe.connect_ex(str(path)) == 0:
                    return
        time.sleep(0.2)
    raise AssertionError("no stage server came up")


def test_a_handed_over_stage_runs_with_the_stages_arguments_environment_and_exit_status(served):
    script, env = served
    first = _stage(script, env, "hello")  # no server yet: runs itself and starts one
    out, _ = first.communicate(timeout=120)
    assert first.returncode == 0 and f"pid={first.pid} " in out
    _wait_for_server(script.parent)

    env = {**env, "MARKER": "second"}
    second = _stage(script, env, "hello", "--x", "1")
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert f"pid={second.pid} " not in out  # a forked child ran it ...
    assert f"cwd={script.parent} argv=['hello', '--x', '1'] marker=second" in out  # ... as this process would have
    assert f"stage_pid={second.pid}" in out  # what the pipeline-execution tag walks up from (core/tracking.py)
    assert "fake: started" in err and "fake: done in" in err

    failed = _stage(script, env, "fail")
    out, err = failed.communicate(timeout=120)
    assert failed.returncode == 2 and "error: models.x.steps: must be positive" in err


def test_a_killed_stage_process_takes_its_child_with_it(served):
    script, env = served
    _stage(script, env, "warm-up").communicate(timeout=120)
    _wait_for_server(script.parent)
    stage = _stage(script, env, "sleep")
    assert stage.stdout.readline().startswith("pid=")  # the child is running
    stage.send_signal(signal.SIGKILL)
    stage.wait(timeout=10)
    time.sleep(4)  # past the child's sleep: it would have written its file by now
    assert not (script.parent / "late.txt").exists()


def test_the_socket_path_fits_a_unix_socket_wherever_the_folder_is(monkeypatch, tmp_path):
    monkeypatch.setenv(stage_server.FOLDER, str(tmp_path / ("deep" * 30)))
    assert len(str(stage_server.socket_path())) < 108


def test_the_server_is_only_for_single_stage_processes_under_dvc(monkeypatch):
    monkeypatch.setenv("DVC_STAGE", "x")
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    monkeypatch.setenv(stage_server.SWITCH, "1")
    assert stage_server.enabled() == sys.platform.startswith("linux")
    monkeypatch.setenv("LOCAL_RANK", "0")  # a torchrun worker
    assert not stage_server.enabled()
    monkeypatch.delenv("LOCAL_RANK")
    monkeypatch.setenv(stage_server.SWITCH, "0")
    assert not stage_server.enabled()
