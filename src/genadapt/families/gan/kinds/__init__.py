"""GAN kinds, found by module: each module here defines ``KIND``, a :class:`~genadapt.families.gan.kind.GANKind`.

Adding a kind is adding a module (its params, loss head, figures and metrics) and a params.yaml
entry that names it; nothing else changes.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache


@cache
def all_kinds() -> dict:
    kinds = {}
    for module in pkgutil.iter_modules(__path__):
        kind = importlib.import_module(f"{__name__}.{module.name}").KIND
        kinds[kind.name] = kind
    return kinds


def get_kind(name):
    kinds = all_kinds()
    if name not in kinds:
        raise ValueError(f"kind: {name!r} is not one of {', '.join(sorted(kinds))}")
    return kinds[name]
