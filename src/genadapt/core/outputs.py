"""Write stage outputs atomically, so a failed stage never leaves a finished-looking output.

Everything is first written under a temporary sibling path and moved into place only when
the stage's work succeeded; on any error the temporary path is removed and whatever stood at
the destination before is left untouched.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

from genadapt.core.errors import PipelineError


def refuse_unsafe_destination(dest: Path) -> None:
    """An output never replaces the working directory, one of its parents, or anything in ``.git``."""
    resolved, cwd = dest.resolve(), Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents or ".git" in resolved.parts:
        raise PipelineError(f"{dest}: refusing to write an output over the working directory, a parent of it or .git")


def output_path(path: str | Path) -> Path:
    """A stage's output path from its command line: inside the repository (the working directory),
    never the repository itself or ``.git``; a one-line error otherwise."""
    path = Path(path)
    refuse_unsafe_destination(path)
    if not path.resolve().is_relative_to(Path.cwd().resolve()):
        raise PipelineError(f"{path}: outputs must stay inside the repository ({Path.cwd()})")
    return path


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_dir(dest: str | Path):
    """Yield a fresh temporary folder that replaces ``dest`` when the block succeeds."""
    dest = Path(dest)
    refuse_unsafe_destination(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if dest.exists():
        shutil.rmtree(dest) if dest.is_dir() else dest.unlink()
    os.replace(tmp, dest)


@contextlib.contextmanager
def atomic_file(dest: str | Path):
    """Yield a temporary file path that replaces ``dest`` when the block succeeds. The file and its
    folder are fsynced around the rename, so after a power loss ``dest`` is the old or the new file."""
    dest = Path(dest)
    refuse_unsafe_destination(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, dest)
    _fsync_dir(dest.parent)


def remove_stale_temporaries(dest: str | Path) -> list[Path]:
    """Delete the temporaries a killed writer of ``dest`` left beside it; returns them."""
    dest = Path(dest)
    stale = sorted(dest.parent.glob(f".{dest.name}.*.tmp")) if dest.parent.is_dir() else []
    for path in stale:
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    return stale


def write_json(dest: str | Path, obj) -> None:
    """Write ``obj`` as indented JSON, atomically; NaN or infinity (not JSON) is an error naming the file."""
    try:
        text = json.dumps(obj, indent=2, allow_nan=False)
    except ValueError:
        bad = [k for k, v in (obj.items() if isinstance(obj, dict) else []) if isinstance(v, float) and not math.isfinite(v)]
        raise PipelineError(f"{dest}: refusing to write a non-finite value (NaN or infinity) for {', '.join(bad) or 'a value'}") from None
    with atomic_file(dest) as tmp:
        tmp.write_text(text + "\n")
