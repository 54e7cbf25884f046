"""Domain-adaptation methods as plug-ins: each module of ``methods/`` defines ``METHOD``, a
:class:`~genadapt.adaptation.method.Method` (what it trains on, its loss terms, an optional
teacher), and the one training loop (``genadapt.adaptation.loop``) calls those hooks, with no
per-method branch. ``dann.modes`` in params.yaml names the methods to run; adding a method is one
module here, its name there, and its test. A method's own settings are fields of its dataclass,
with the published values as defaults; ``dann.settings.<method>`` in params.yaml overrides them."""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

from genadapt.adaptation import methods
from genadapt.adaptation.method import Method
from genadapt.core.errors import PipelineError


def method_names() -> tuple[str, ...]:
    return tuple(sorted(m.name for m in pkgutil.iter_modules(methods.__path__) if not m.name.startswith("_")))


def get_method(name: str, settings: dict | None = None) -> Method:
    """The method module's ``METHOD``, with ``settings`` (params.yaml ``dann.settings.<name>``) replacing its defaults."""
    if name not in method_names():
        raise PipelineError(f"unknown adaptation method {name!r}; choose one of {', '.join(method_names())}")
    method = importlib.import_module(f"genadapt.adaptation.methods.{name}").METHOD
    if not settings:
        return method
    own = {f.name for f in dataclasses.fields(method)} - {f.name for f in dataclasses.fields(Method)}
    for key, value in settings.items():
        if key not in own:
            raise PipelineError(f"params.yaml: dann.settings.{name}.{key}: not a setting of {name} "
                                f"({', '.join(sorted(own)) or 'it has none'})")
        default = getattr(method, key)
        if type(value) is not type(default) and not (isinstance(default, float) and type(value) is int):
            raise PipelineError(f"params.yaml: dann.settings.{name}.{key}: expected a {type(default).__name__} "
                                f"like the default {default!r}, got {value!r}")
    return dataclasses.replace(method, **settings)
