"""Domain-adaptation methods as plug-ins: each module of ``methods/`` defines ``METHOD``, a
:class:`~genadapt.adaptation.method.Method` (what it trains on, its loss terms, an optional
teacher), and the one training loop (``genadapt.training.dann``) calls those hooks, with no
per-method branch. ``dann.modes`` in params.yaml names the methods to run; adding a method is one
module here, its name there, and its test."""

from __future__ import annotations

import importlib
import pkgutil

from genadapt.adaptation import methods
from genadapt.adaptation.method import Method
from genadapt.errors import PipelineError


def method_names() -> tuple[str, ...]:
    return tuple(sorted(m.name for m in pkgutil.iter_modules(methods.__path__) if not m.name.startswith("_")))


def get_method(name: str) -> Method:
    if name not in method_names():
        raise PipelineError(f"unknown adaptation method {name!r}; choose one of {', '.join(method_names())}")
    return importlib.import_module(f"genadapt.adaptation.methods.{name}").METHOD
