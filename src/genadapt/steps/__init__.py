"""Per-model pipeline steps (train, generate, evaluate), looked up by model name."""

from __future__ import annotations

from types import ModuleType

from genadapt.errors import PipelineError
from genadapt.steps import vae

MODELS: dict[str, ModuleType] = {"vae": vae}


def model_steps(name: str) -> ModuleType:
    if name not in MODELS:
        raise PipelineError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return MODELS[name]
