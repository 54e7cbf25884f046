"""Shared fixtures: repository paths and a params mapping that tests can modify."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import yaml

from genadapt.core.params import validate_instance
from genadapt.presets import apply_preset

REPO = Path(__file__).resolve().parents[1]

if os.environ.get("PYTEST_XDIST_WORKER"):  # `make test` runs two workers on two cores: one thread each
    import torch

    os.environ["OMP_NUM_THREADS"] = "1"  # and for the processes the tests start (dvc stages, torchrun)
    torch.set_num_threads(1)


SMOKE_CLONE = "test_pipeline_e2e.py"  # its tests share one smoke pipeline run: the longest file by far


def pytest_collection_modifyitems(items):
    """The smoke clone's file first, then the other slow tests, so that with two workers (`make test`:
    one file per worker at a time) the long ones run beside the short ones instead of after them."""
    items.sort(key=lambda item: (item.path.name != SMOKE_CLONE, item.get_closest_marker("slow") is None))


@pytest.fixture
def repo() -> Path:
    return REPO


def _full_params() -> str:
    """params.yaml with presets/full.yaml applied: every model instance and pair the code offers."""
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(REPO / "params.yaml", Path(tmp) / "params.yaml")
        apply_preset(REPO / "presets" / "full.yaml", Path(tmp) / "params.yaml")
        return (Path(tmp) / "params.yaml").read_text()


FULL_PARAMS = _full_params()


@pytest.fixture
def raw_params() -> dict:
    """The repository's params.yaml with presets/full.yaml applied, as a fresh mutable mapping."""
    return yaml.safe_load(FULL_PARAMS)


# The one place unit tests shrink a model: a few tiny steps on the CPU, whatever the defaults.
TINY = {
    "vae": {"latent_dim": 4, "base_channels": 4, "batch_size": 8, "steps": 6, "kl_anneal_steps": 0},
    "gan": {"image_size": 16, "ngf": 4, "ndf": 4, "nz": 8, "batch_size": 8, "steps": 6, "eval_every": 3, "eval_samples": 8,
            "instance_noise_steps": 4, "bn_recalibration": 32},
    "adapt": {"width": 4, "batch_size": 8, "steps": 12, "checkpoint_every": 5},
    "pixel": {"width": 4, "batch_size": 8, "steps": 12, "checkpoint_every": 5},
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
