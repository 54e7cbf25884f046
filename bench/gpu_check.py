"""The GPU check: the smoke pipeline, a 2-process torchrun and a few hundred full-size steps, as one table.

On a CUDA machine every stage runs with ``device: cuda`` and bf16 autocast (``amp``, on by
default, where the GPU computes bf16 natively); on a CPU the same steps run on the CPU, so the
script itself is tested in CI. In a temporary clone of this working tree:

1. ``dvc repro`` of ``presets/smoke.yaml`` (or only ``--targets``), every stage timed;
2. with two or more GPUs, ``torchrun --nproc_per_node 2`` of the DCGAN's train stage;
3. ``--course-steps`` steps of the DCGAN at ``presets/course_gpu.yaml``'s full size.

It prints one row per stage: stage, device, dtype, seconds (imports included) and peak memory
(CUDA's peak allocation on a GPU, peak resident memory on a CPU).

    PYTHONPATH=src python bench/gpu_check.py [--course-steps 300] [--course-eval-samples N] [--targets evaluate-gan@dcgan ...]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from genadapt.core.runtime import bf16_native

REPO = Path(__file__).resolve().parents[1]


def clone_tree(dest: Path) -> Path:
    """This working tree (tracked and untracked, not ignored files) as a fresh git repository."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout.split("\0")
    for rel in filter(None, listed):
        if (REPO / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, dest / rel)
    run(["git", "init", "-q"], dest)
    return dest


def run(args: list[str], cwd: Path, **env: str) -> None:
    full_env = {**{k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}, "DVC_NO_ANALYTICS": "1", **env}
    full_env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{full_env['PATH']}"
    out = subprocess.run(args, cwd=cwd, env=full_env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"error: {' '.join(args)} failed (exit {out.returncode}):\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")


def apply(clone: Path, preset: Path | str) -> None:
    run([sys.executable, "-m", "genadapt.presets", str(preset)], clone, PYTHONPATH="src")


def device_preset(folder: Path, device: str) -> Path:
    """Every stage on ``device`` (families' instances through "*")."""
    path = folder / "device.yaml"
    every = {"*": {"device": device}}
    path.write_text(json.dumps({"classifier": {"device": device}, "evaluate": {"device": device},
                                "models": {"vae": every, "gan": every, "cyclegan": every, "adapt": every, "pixel": every}}))
    return path


def commit(clone: Path, message: str) -> None:
    run(["git", "add", "-A"], clone)
    run(["git", "-c", "user.name=check", "-c", "user.email=check@localhost", "commit", "-qm", message], clone)


def stage_rows(clone: Path, since: float, device: torch.device, dtype: str) -> list[dict]:
    """The stages recorded (logs/stage_times) after ``since``, in the order they finished; a stage
    that never touched the checked device (e.g. data preparation on a GPU machine) has no dtype."""
    rows = []
    for path in (clone / "logs" / "stage_times").glob("*.json"):
        if path.stat().st_mtime >= since:
            record = json.loads(path.read_text())
            rows.append({**record, "dtype": dtype if record["device"] == device.type else "-", "mtime": path.stat().st_mtime})
    return sorted(rows, key=lambda r: r["mtime"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course-steps", type=int, default=300, help="DCGAN steps at presets/course_gpu.yaml's size")
    parser.add_argument("--course-eval-samples", type=int, default=0,
                        help="images of the DCGAN's one quality check at the last step (default: the preset's)")
    parser.add_argument("--targets", nargs="*", default=[], help="smoke stages to reproduce (default: the whole DAG)")
    args = parser.parse_args()
    if args.course_steps < 1:
        sys.exit("error: --course-steps must be at least 1")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = "bf16" if bf16_native(device) else "float32"  # amp is on by default: bf16 autocast where native
    gpus = torch.cuda.device_count()
    start = time.monotonic()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        clone = clone_tree(Path(tmp) / "repo")
        apply(clone, "presets/smoke.yaml")
        apply(clone, device_preset(Path(tmp), device.type))
        commit(clone, "gpu check: smoke on " + device.type)
        since = time.time()
        run(["dvc", "repro", *args.targets], clone)
        rows += stage_rows(clone, since, device, dtype)

        if gpus >= 2:  # the DCGAN on two GPUs, each with its slice of every batch (genadapt.distributed)
            since = time.time()
            run(["torchrun", "--nproc_per_node", "2", "stages/train.py", "dcgan", "--data", "data/prepared/faces", "--evaluator",
                 "models/classifiers/faces", "--out", "models/dcgan-ddp", "--checkpoints", "checkpoints/dcgan-ddp", "--curves",
                 "curves/gan/dcgan-ddp.csv"], clone, PYTHONPATH="src", DVC_STAGE="torchrun-2-gpus@dcgan", DVC_ROOT=str(clone))
            rows += stage_rows(clone, since, device, dtype)
        else:
            rows.append({"stage": "torchrun-2-gpus@dcgan", "device": device.type, "dtype": "-", "seconds": None,
                         "peak_memory_mib": None, "status": f"skipped: {gpus} GPU(s)"})

        course = Path(tmp) / "course_steps.yaml"
        steps = {"steps": args.course_steps, "eval_every": args.course_steps, "checkpoint_every": args.course_steps}
        if args.course_eval_samples:
            steps["eval_samples"] = args.course_eval_samples
        course.write_text(json.dumps({"models": {"gan": {"dcgan": steps}}}))
        apply(clone, "presets/course_gpu.yaml")
        apply(clone, course)
        since = time.time()
        run(["dvc", "repro", "-s", "train-gan@dcgan"], clone)  # -s: the smoke run's data and evaluator as they are
        rows += [{**r, "stage": f"{r['stage']} (course_gpu, {args.course_steps} steps)"} for r in stage_rows(clone, since, device, dtype)]

    print(f"GPU check on {torch.cuda.get_device_name(0) if gpus else 'the CPU (no CUDA device)'}: {len(rows)} rows, "
          f"{time.monotonic() - start:.0f} s in all")
    print(f"| {'stage':<52} | device | dtype   | seconds | peak memory (MiB) |")
    print(f"|{'-' * 54}|--------|---------|---------|-------------------|")
    for r in rows:
        seconds = "-" if r["seconds"] is None else f"{r['seconds']:.1f}"
        memory = "-" if r["peak_memory_mib"] is None else f"{r['peak_memory_mib']:.0f}"
        status = "" if r["status"] == "done" else f" ({r['status']})"
        print(f"| {r['stage'] + status:<52} | {r['device']:<6} | {r['dtype']:<7} | {seconds:>7} | {memory:>17} |")


if __name__ == "__main__":
    main()
