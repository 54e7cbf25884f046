"""The registry of model families: a family name -> its package ``genadapt.families.<name>`` (one
module per stage verb, and ``shared/``: the params and what every verb imports), the paths a stage
passes to a family's entry points, and the entry-point lookup :func:`load_verb`. Families are imported by name here, so the layers below
never import a family's code until a stage asks for it."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

from genadapt.core.errors import PipelineError

FAMILIES = ("vae", "gan", "cyclegan", "adapt", "pixel")  # package names under genadapt/families/


@dataclass(frozen=True)
class StagePaths:
    """The folders a DVC stage passes on its command line (one instance, one stage)."""

    data: Path  # prepared dataset folder
    model: Path | None = None  # the train stage's output folder
    out: Path | None = None  # this stage's output folder or file
    checkpoints: Path | None = None  # resumable checkpoints (DVC persist)
    evaluator: Path | None = None  # evaluator classifier folder
    generated: Path | None = None  # the generate stage's output folder
    reference: Path | None = None  # Inception reference features of the real test split
    curves: Path | None = None  # per-step training curves (CSV), beside the family's others for `dvc plots`
    metrics: Path | None = None  # a train stage's own metrics file (adaptation: the target test accuracies)
    translator: Path | None = None  # a trained CycleGAN's folder (pixel-level adaptation)
    # A translation model's second domain (B; the fields above are domain A's):
    data_b: Path | None = None
    evaluator_b: Path | None = None
    reference_b: Path | None = None


def instance_paths(family: str, name: str, dataset: str, dataset_b: str | None = None) -> StagePaths:
    """Where dvc.yaml puts instance ``name``'s inputs and outputs (the report reads them from here);
    ``dataset_b``: a translation model's second domain."""
    second = {}
    if dataset_b is not None:
        second = {"data_b": Path("data/prepared") / dataset_b, "evaluator_b": Path("models/classifiers") / dataset_b,
                  "reference_b": Path("models/inception_reference") / dataset_b}
    return StagePaths(data=Path("data/prepared") / dataset, model=Path("models") / name, out=Path("metrics") / f"{name}.json",
                      checkpoints=Path("checkpoints") / name, evaluator=Path("models/classifiers") / dataset,
                      generated=Path("generated") / name, reference=Path("models/inception_reference") / dataset,
                      curves=Path("curves") / family / f"{name}.csv", **second)


@runtime_checkable
class FamilyParams(Protocol):
    """``genadapt.families.<name>.shared.params``: validation with defaults; imports no torch."""

    def validate(self, raw: dict) -> Any: ...  # a pydantic model of the instance, defaults filled in

    def cross_check(self, cfg: Any, data: Any) -> str | None: ...  # "<key>: <problem>" or None


VERBS = ("train", "generate", "evaluate", "report")  # a family's stage modules: <family>/<verb>.py


def _load(family: str, module: str) -> ModuleType:
    if family not in FAMILIES:
        raise PipelineError(f"unknown model family {family!r}; choose one of {', '.join(FAMILIES)}")
    return importlib.import_module(f"genadapt.families.{family}.{module}")


def family_params(family: str) -> FamilyParams:
    loaded = _load(family, "shared.params")
    if not isinstance(loaded, FamilyParams):
        raise TypeError(f"genadapt.families.{family}.shared.params does not implement FamilyParams")
    return loaded


def load_verb(family: str, verb: str) -> Callable[..., Any]:
    """The entry point a stage calls: ``<family>/<verb>.py``'s function of that name (``report``:
    ``report_section(params, name) -> Section``; the others take ``(params, name, StagePaths)``).
    One module per verb, so a stage imports (and DVC reruns it for) its own verb's code only: editing
    report code never retrains a model."""
    if verb not in VERBS:
        raise ValueError(f"verb {verb!r} is not one of {', '.join(VERBS)}")
    return getattr(_load(family, verb), "report_section" if verb == "report" else verb)
