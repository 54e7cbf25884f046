"""What the warm stage server saves: the same DVC stages rerun with it off and on, in turn.

In a repository where ``dvc repro`` has already run (e.g. after ``make smoke``), each round runs
``dvc repro --force --single-item <stage>`` for every stage twice, once with
``GENADAPT_STAGE_SERVER=0`` (every stage process imports torch, MLflow and the rest itself) and
once with the server (core/stage_server.py), alternating which goes first. It prints, per stage,
the median wall time of the whole ``dvc repro`` command and of the stage process itself (from the
stage's own record in ``logs/stage_times/``), off and on, and their ratio; and the CPU model,
since times compare only on one machine.

    PYTHONPATH=src python bench/stage_startup.py --repo <smoke-run repository> [--rounds 5] [--stages prepare-data@mnist ...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from machine import cpu_model  # bench/machine.py (this script's folder is on sys.path)

STAGES = ["prepare-data@mnist", "train-classifier@mnist", "generate-gan@dcgan", "evaluate-vae@vae", "report"]


def repro(repo: Path, stage: str, server: bool) -> tuple[float, float]:
    """(wall seconds of `dvc repro -f -s stage`, the stage process's own recorded seconds)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    env.update(DVC_NO_ANALYTICS="1", GENADAPT_STAGE_SERVER="1" if server else "0",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}")
    start = time.perf_counter()
    out = subprocess.run(["dvc", "repro", "--force", "--single-item", stage], cwd=repo, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"error: dvc repro -f -s {stage} failed:\n{out.stderr[-2000:]}")
    record = json.loads((repo / "logs/stage_times" / f"{stage.replace('/', '_')}.json").read_text())
    return wall, record["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", type=Path, required=True, help="a repository whose pipeline has run (dvc.lock present)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--stages", nargs="+", default=STAGES)
    args = parser.parse_args()
    if not (args.repo / "dvc.lock").is_file():
        sys.exit(f"error: {args.repo / 'dvc.lock'}: not found; run the pipeline there first (e.g. make smoke && dvc repro)")
    times: dict[tuple[str, bool], list[tuple[float, float]]] = {(s, on): [] for s in args.stages for on in (False, True)}
    repro(args.repo, args.stages[0], True)  # warm-up: starts the server, fills the OS caches
    for round_ in range(args.rounds):
        for stage in args.stages:
            for server in ((False, True) if round_ % 2 == 0 else (True, False)):
                times[stage, server].append(repro(args.repo, stage, server))
    print(f"{cpu_model()}, {os.cpu_count()} CPUs; median of {args.rounds} rounds, off and on alternated\n")
    print("| stage | `dvc repro -f -s` off (s) | on (s) | on / off | stage process off (s) | on (s) | on / off |")
    print("|---|---|---|---|---|---|---|")
    totals = {False: [0.0, 0.0], True: [0.0, 0.0]}
    for stage in args.stages:
        row = [stage]
        medians = {}
        for server in (False, True):
            walls, own = zip(*times[stage, server])
            medians[server] = (statistics.median(walls), statistics.median(own))
            totals[server][0] += medians[server][0]
            totals[server][1] += medians[server][1]
        for i in (0, 1):
            row += [f"{medians[False][i]:.1f}", f"{medians[True][i]:.1f}", f"{medians[True][i] / medians[False][i]:.2f}"]
        print("| " + " | ".join(row) + " |")
    row = ["all listed"]
    for i in (0, 1):
        row += [f"{totals[False][i]:.1f}", f"{totals[True][i]:.1f}", f"{totals[True][i] / totals[False][i]:.2f}"]
    print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
