"""Apply a params preset (a partial params file) onto ``params.yaml``, keeping its comments.

    PYTHONPATH=src python -m genadapt.presets presets/smoke.yaml

Every key of the preset must already exist in ``params.yaml``, except inside ``dann.pairs``,
which a preset replaces as a whole (its own list of domain pairs); the result is validated.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ruamel.yaml import YAML

from genadapt.errors import PipelineError
from genadapt.params import parse_params

REPLACED_WHOLE = {"dann.pairs"}  # user-named entries: a preset gives the complete mapping


def _merge(target, overrides, prefix: str) -> None:
    for key, value in overrides.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if name in REPLACED_WHOLE and key in target:
            target[key] = value
            continue
        if key not in target:
            raise PipelineError(f"preset: unknown key {name!r} (not in params.yaml)")
        if isinstance(value, dict):
            _merge(target[key], value, name)
        else:
            target[key] = value


def apply_preset(preset: Path, params_file: Path = Path("params.yaml")) -> None:
    yaml = YAML()  # round-trip mode: comments and key order survive
    yaml.width = 4096  # keep flow mappings such as a DANN pair on one line
    params = yaml.load(params_file.read_text())
    overrides = yaml.load(Path(preset).read_text()) or {}
    _merge(params, overrides, "")
    parse_params(_plain(params))
    with params_file.open("w") as fh:
        yaml.dump(params, fh)


def _plain(node):
    """ruamel's commented containers as plain dicts/lists, for validation."""
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset", type=Path)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    args = parser.parse_args()
    try:
        apply_preset(args.preset, args.params)
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    print(f"applied {args.preset} to {args.params}")


if __name__ == "__main__":
    main()
