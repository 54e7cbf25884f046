"""Shared entry-point wrapper for the scripts in ``stages/``."""

from __future__ import annotations

import sys
from collections.abc import Callable

from genadapt.errors import PipelineError


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's ``main``; a :class:`PipelineError` becomes one line on stderr and exit 2."""
    try:
        main()
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
