"""Shared fixtures: repository paths and a params mapping that tests can modify."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def raw_params() -> dict:
    """The repository's params.yaml as a fresh mutable mapping."""
    return yaml.safe_load((REPO / "params.yaml").read_text())


class InterruptAt:
    """Stands in for the metric logger and raises KeyboardInterrupt at step ``at``, as a killed
    stage would; used by the resume-after-interruption tests."""

    def __init__(self, at: int):
        self.at = at

    def add(self, step, metrics):
        if step == self.at:
            raise KeyboardInterrupt

    def flush(self):
        pass
