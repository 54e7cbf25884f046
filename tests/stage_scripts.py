"""A stage script run for its exit status and what it wrote to stderr: as a process, or in this one.

``run_stage_process`` starts the script as DVC does, in a fresh interpreter, which pays about 5 s
of imports (torch, torchvision, mlflow) before a stage checks its input; the checks under test
then finish in milliseconds. ``run_stage_in_process`` runs the script as ``__main__`` here, with
its own argv, working directory and tracking URI, and returns what ``subprocess.run(...,
capture_output=True, text=True)`` would: the exit status (``genadapt.core.cli.run_stage`` gives 2
for a :class:`PipelineError`, argparse 2, ``sys.exit(msg)`` 1) and stdout / stderr. Every warning
the stage raises is written to that stderr (a warning is one more line, as it would be from a
process), whatever pytest's own filters say. A few tests still start a real process (one each for
prepare_data.py, train.py and evaluate.py, one output refusal), so the process-level path stays
covered.
"""

from __future__ import annotations

import contextlib
import io
import os
import runpy
import subprocess
import sys
import warnings
from pathlib import Path


def run_stage_process(script: Path, args: list[str], cwd: Path, tracking_uri: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(script).resolve().parents[1] / "src"), "MLFLOW_TRACKING_URI": tracking_uri}
    return subprocess.run([sys.executable, str(script), *args], cwd=cwd, env=env, capture_output=True, text=True)


def run_stage_in_process(script: Path, args: list[str], cwd: Path, tracking_uri: str) -> subprocess.CompletedProcess:
    from mlflow.tracking._tracking_service.utils import _use_tracking_uri  # sets and restores the URI and its env var

    argv = [str(script), *args]
    stdout, stderr = io.StringIO(), io.StringIO()
    saved_argv, saved_cwd = sys.argv, Path.cwd()
    code = 0
    try:
        sys.argv = argv
        os.chdir(cwd)
        with _use_tracking_uri(tracking_uri), warnings.catch_warnings(record=True) as raised, \
                contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            warnings.simplefilter("always")
            try:
                runpy.run_path(str(script), run_name="__main__")
            except SystemExit as exc:
                if isinstance(exc.code, str):  # sys.exit("message"): Python prints it and exits 1
                    print(exc.code, file=sys.stderr)
                    code = 1
                else:
                    code = exc.code or 0
        for warning in raised:
            stderr.write(warnings.formatwarning(warning.message, warning.category, warning.filename, warning.lineno))
    finally:
        sys.argv = saved_argv
        os.chdir(saved_cwd)
    return subprocess.CompletedProcess(argv, code, stdout.getvalue(), stderr.getvalue())
