"""Per-model pipeline steps (train, generate, evaluate), looked up by model name.

Every step takes ``(params, name, paths)``; :class:`StagePaths` carries the folders a DVC stage
passes on its command line, so the scripts in ``stages/`` stay the same for every model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from genadapt.errors import PipelineError
from genadapt.params import GAN_MODELS


@dataclass(frozen=True)
class StagePaths:
    data: Path  # prepared dataset folder
    model: Path | None = None  # the train stage's output folder
    out: Path | None = None  # this stage's output folder or file
    checkpoints: Path | None = None  # resumable checkpoints (DVC persist)
    evaluator: Path | None = None  # evaluator classifier folder
    generated: Path | None = None  # the generate stage's output folder
    reference: Path | None = None  # Inception reference features of the real test split


def model_steps(name: str) -> ModuleType:
    # Imported on demand: a GAN stage need not pay for the VAE's t-SNE (scikit-learn) imports.
    if name == "vae":
        from genadapt.steps import vae

        return vae
    if name in GAN_MODELS:
        from genadapt.steps import gan

        return gan
    raise PipelineError(f"unknown model {name!r}; choose one of vae, {', '.join(GAN_MODELS)}")
