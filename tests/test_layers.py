"""The package's import graph: no cycle, and no module importing a layer above its own.

Layers, bottom up: ``core`` (params, outputs, tracking, the stage wrapper), the shared libraries
(``data``, ``metrics``, ``training``, ``figures``, ``sections``, ``distributed``), the evaluator
classifiers, the model families, and the report and presets at the top. Imports inside functions
count too: a lazy import is still a dependency."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "genadapt"
LAYERS = [("core",), ("data", "metrics", "training", "figures", "sections", "distributed"), ("evaluator",), ("families",),
          ("report", "presets")]


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("genadapt"):
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("genadapt")}
    return found


GRAPH = {_module(p): _imports(p) for p in PACKAGE.rglob("*.py")}
GRAPH = {m: {i for i in imports if i in GRAPH and i != m} for m, imports in GRAPH.items()}


def _layer(module: str) -> int:
    top = module.split(".")[1] if "." in module else ""
    return next((i for i, names in enumerate(LAYERS) if top in names), -1)


def test_every_module_has_a_layer():
    assert [m for m in GRAPH if m != "genadapt" and _layer(m) < 0] == []


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_no_import_runs_up_a_layer(module):
    above = sorted(i for i in GRAPH[module] if _layer(i) > _layer(module))
    assert not above, f"{module} imports a higher layer: {above}"


def test_the_import_graph_has_no_cycle():
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(GRAPH[module]):
            if state.get(target) == 1:
                raise AssertionError(f"import cycle: {' -> '.join(path[path.index(target):] + [module, target])}")
            if target not in state:
                visit(target, path + [module])
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [])
