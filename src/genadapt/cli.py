"""Shared entry-point wrapper for the scripts in ``stages/``."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from genadapt.errors import PipelineError

IMPORT_TRACE = "GENADAPT_IMPORT_TRACE"  # a folder: each stage process writes the project files it imported there


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's ``main``; a :class:`PipelineError` becomes one line on stderr and exit 2."""
    try:
        main()
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    finally:
        if os.environ.get(IMPORT_TRACE):
            write_import_trace(Path(os.environ[IMPORT_TRACE]))


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
    prepared = sys.modules.get("genadapt.data.prepared")  # which splits the stage read, in order (none if it read no data)
    record["split_reads"] = list(prepared.SPLIT_READS) if prepared else []
    (folder / f"{stage.replace('/', '_')}.{os.getpid()}.json").write_text(json.dumps(record, indent=1))
