"""bench/gpu_check.py runs on whatever device is there (the CPU in CI) and prints its table."""

import os
import re
import subprocess
import sys

import pytest
import torch

pytestmark = pytest.mark.slow


def test_the_gpu_check_runs_its_steps_and_prints_a_row_per_stage(repo):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    env["PYTHONPATH"] = str(repo / "src")
    out = subprocess.run([sys.executable, "bench/gpu_check.py", "--targets", "train-gan@dcgan", "--course-steps", "2",
                          "--course-eval-samples", "50"],
                         cwd=repo, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    rows = {m[0].strip(): m[1:] for m in re.findall(r"^\| (\S[^|]*?) +\| (\w+) +\| ([\w-]+) +\| +([\d.-]+) \| +([\d-]+) \|$",
                                                     out.stdout, re.M)}
    device = "cuda" if torch.cuda.is_available() else "cpu"
    smoke = {"prepare-data@faces", "train-classifier@faces", "train-gan@dcgan"}
    assert smoke <= set(rows), out.stdout
    for stage in smoke - {"prepare-data@faces"}:
        used, dtype, seconds, memory = rows[stage]
        assert used == device and dtype in ("bf16", "float32") and float(seconds) > 0 and float(memory) > 50, (stage, rows[stage])
    course = rows["train-gan@dcgan (course_gpu, 2 steps)"]
    assert course[0] == device and float(course[2]) > 0
    ddp = next(stage for stage in rows if stage.startswith("torchrun-2-gpus@dcgan"))
    assert ("skipped" in ddp) == (torch.cuda.device_count() < 2)
