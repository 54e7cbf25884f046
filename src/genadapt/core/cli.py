"""Shared entry-point wrapper for the scripts in ``stages/``."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from genadapt.core import stage_server
from genadapt.core.errors import PipelineError

IMPORT_TRACE = "GENADAPT_IMPORT_TRACE"  # a folder: each stage process writes the project files it imported there
STAGE_TIMES = Path("logs/stage_times")  # one record per stage: its last run's wall time (the report's slowest-stages panel)
STARTED = time.monotonic()  # this module is imported first by every stage script, before torch and the rest
STARTED_AT = time.strftime("%H:%M:%S")


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's ``main``; a :class:`PipelineError` becomes one line on stderr and exit 2.

    Under DVC the stage also says when it starts and how long it took (imports included), and
    records that time in ``logs/stage_times/<stage>.json``, so a user sees what the run is spent on."""
    if stage_server.enabled():  # hand the stage to a warm process that has paid the imports
        code = stage_server.delegate()
        if code is not None:
            sys.exit(code)
    stage = os.environ.get("DVC_STAGE")
    if stage:
        print(f"[{STARTED_AT}] {stage}: started (imports {time.monotonic() - STARTED:.1f}s)", file=sys.stderr, flush=True)
    status = "failed"
    try:
        main()
        status = "done"
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    finally:
        if stage:
            record_stage_time(stage, time.monotonic() - STARTED, status)
        if os.environ.get(IMPORT_TRACE):
            write_import_trace(Path(os.environ[IMPORT_TRACE]))


def format_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s"


def peak_memory() -> tuple[str, float]:
    """(device, peak MiB) of this process: CUDA's peak allocation when it used a GPU, else peak resident memory."""
    import resource

    torch = sys.modules.get("torch")  # only if the stage imported it
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        return "cuda", torch.cuda.max_memory_allocated() / 2**20
    return "cpu", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def stage_times_folder() -> Path:
    """Where stages record their times: under the repository DVC runs for (also from `dvc exp run`'s copies)."""
    return Path(os.environ.get("DVC_ROOT", ".")) / STAGE_TIMES


def record_stage_time(stage: str, seconds: float, status: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {stage}: {status} in {format_seconds(seconds)}", file=sys.stderr, flush=True)
    folder = stage_times_folder()
    folder.mkdir(parents=True, exist_ok=True)
    device, peak = peak_memory()
    record = {"stage": stage, "seconds": round(seconds, 1), "status": status, "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
              "device": device, "peak_memory_mib": round(peak, 1),
              # forked by the stage server: a CPU peak includes the libraries the server had loaded (shared pages)
              "stage_server": stage_server.STAGE_PID in os.environ}
    (folder / f"{stage.replace('/', '_')}.json").write_text(json.dumps(record))


def imported_project_files(root: Path) -> list[str]:
    """Files under ``root`` (outside virtual environments) that this process has imported or runs, relative to it."""
    root = root.resolve()
    files = {Path(sys.argv[0]).resolve()}
    files |= {Path(m.__file__).resolve() for m in list(sys.modules.values()) if getattr(m, "__file__", None)}
    return sorted(str(f.relative_to(root)) for f in files
                  if f.is_relative_to(root) and f.is_file() and not any(part.startswith(".") for part in f.relative_to(root).parts))


def write_import_trace(folder: Path) -> None:
    """Record this stage's imported project files (for the test that dvc.yaml's deps cover them) and the
    prepared splits it read (for the test that no choice sees the test split)."""
    stage = os.environ.get("DVC_STAGE", f"pid-{os.getpid()}")
    folder.mkdir(parents=True, exist_ok=True)
    record = {"stage": stage, "argv": sys.argv, "files": imported_project_files(Path(os.environ.get("DVC_ROOT", ".")))}
    prepared = sys.modules.get("genadapt.data.format.prepared")  # which splits the stage read, in order (none if it read no data)
    record["split_reads"] = list(prepared.SPLIT_READS) if prepared else []
    (folder / f"{stage.replace('/', '_')}.{os.getpid()}.json").write_text(json.dumps(record, indent=1))
