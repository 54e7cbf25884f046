"""Apply a params preset (a partial params file) onto ``params.yaml``, keeping its comments.

    PYTHONPATH=src python -m genadapt.presets presets/smoke.yaml     # apply
    PYTHONPATH=src python -m genadapt.presets --undo                 # back to the file as it was

Every key of the preset must already exist in ``params.yaml``, except that a
model instance may gain keys (values that differ from its family's defaults). Under ``models.<family>``, the instance
name ``"*"`` applies to every instance of that family, an instance set to ``null`` is removed (with its
stages: a smaller DAG, e.g. the smoke run's), and a new instance name adds that model (with its stages:
a larger DAG, e.g. ``presets/full.yaml``). The result is validated before anything
is written; the file is replaced atomically, and the previous version is kept in
``.dvc/tmp/params.before-preset.yaml`` (the first one before a chain of presets), so ``--undo``
restores the user's own file, edits included.
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import sys
import tempfile
from pathlib import Path

from ruamel.yaml import YAML

from genadapt.core.errors import PipelineError
from genadapt.core.params import parse_params

EVERY_INSTANCE = "*"


def backup_path(params_file: Path) -> Path:
    return params_file.resolve().parent / ".dvc" / "tmp" / f"{params_file.stem}.before-preset.yaml"


def _merge(target, overrides, prefix: str) -> None:
    for key, value in overrides.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if prefix.startswith("models.") and prefix.count(".") == 1:  # models.<family>: instances
            names = list(target) if key == EVERY_INSTANCE else [key]
            for instance in names:
                if instance not in target:
                    if value is None:
                        raise PipelineError(f"preset: unknown model {prefix}.{instance!s} (not in params.yaml)")
                    target[instance] = value  # a new instance: validated below like every other
                    continue
                if value is None:
                    del target[instance]  # references to it (e.g. a pixel instance's translator) are checked below
                else:
                    # a copy per instance: one shared list would be written as a YAML anchor and aliases
                    target[instance].update(copy.deepcopy(value))  # instance keys are checked by validation below
            continue
        if key not in target:
            raise PipelineError(f"preset: unknown key {name!r} (not in params.yaml)")
        if isinstance(value, dict):
            _merge(target[key], value, name)
            if not target[key] and hasattr(target, "ca"):  # emptied (its instances removed): a plain {} on its key's line,
                target.ca.items.pop(key, None)              # without the comment ruamel would otherwise put between them
                target[key] = {}
        else:
            target[key] = value


def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.resolve().parent)
    try:
        with os.fdopen(fd, "w") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def apply_preset(preset: Path, params_file: Path = Path("params.yaml")) -> None:
    yaml = YAML()  # round-trip mode: comments and key order survive
    yaml.width = 4096  # keep flow mappings such as a DANN pair on one line
    params = yaml.load(params_file.read_text())
    overrides = yaml.load(Path(preset).read_text()) or {}
    _merge(params, overrides, "")
    parse_params(_plain(params), families=None)
    backup = backup_path(params_file)
    if not backup.exists():  # keep the user's own file from before the first preset
        backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(params_file, backup)
    _atomic_write(params_file, lambda fh: yaml.dump(params, fh))


def undo(params_file: Path = Path("params.yaml")) -> None:
    backup = backup_path(params_file)
    if not backup.exists():
        raise PipelineError(f"no preset to undo: {backup} does not exist")
    os.replace(backup, params_file)


def _plain(node):
    """ruamel's commented containers as plain dicts/lists, for validation."""
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("preset", type=Path, nargs="?")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--undo", action="store_true", help="restore params.yaml as it was before the first preset")
    args = parser.parse_args()
    try:
        if args.undo:
            undo(args.params)
            print(f"restored {args.params}")
            return
        if args.preset is None:
            raise PipelineError("give a preset file, or --undo")
        apply_preset(args.preset, args.params)
    except PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    print(f"applied {args.preset} to {args.params} (undo: python -m genadapt.presets --undo)")


if __name__ == "__main__":
    main()
