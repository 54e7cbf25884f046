"""Shared fixtures: repository paths and a params mapping that tests can modify."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from genadapt.params import validate_instance

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def raw_params() -> dict:
    """The repository's params.yaml as a fresh mutable mapping."""
    return yaml.safe_load((REPO / "params.yaml").read_text())


# The one place unit tests shrink a model: a few tiny steps on the CPU, whatever the defaults.
TINY = {
    "vae": {"latent_dim": 4, "base_channels": 4, "batch_size": 8, "steps": 6, "kl_anneal_steps": 0},
    "gan": {"image_size": 16, "ngf": 4, "ndf": 4, "nz": 8, "batch_size": 8, "steps": 6, "eval_every": 3, "eval_samples": 8,
            "instance_noise_steps": 4},
}


@pytest.fixture
def tiny(raw_params):
    """``tiny(name, **overrides)``: the validated params of model instance ``name``, shrunk by TINY."""

    def make(name: str, **overrides):
        family = next(f for f, instances in raw_params["models"].items() if name in instances)
        return validate_instance(family, name, {**raw_params["models"][family][name], **TINY[family], **overrides})

    return make


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
