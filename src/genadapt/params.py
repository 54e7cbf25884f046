"""Typed, validated view of ``params.yaml``.

``params.yaml`` is the single source of every knob: the dataclasses below give each key a type
and, where useful, allowed values or a lower bound, but no default. A stage calls
:func:`load_params` before doing any work, so a typo or a wrong type fails in one line that
names the key, e.g. ``params.yaml: vae.lr: expected a float, got 'fast'``.
"""

from __future__ import annotations

import dataclasses
import typing
from pathlib import Path

import yaml

from genadapt.errors import PipelineError

DIGIT_DATASETS = ("mnist", "usps", "mnistm", "svhn")
DATASETS = ("faces",) + DIGIT_DATASETS
# Allowed data.<name>.source values: the embedded generator, the dataset's own published
# layout, or the course layout (a folder of images + a CSV per split).
SOURCES = {
    "faces": ("embedded", "celeba", "folder"),
    "mnist": ("embedded", "mnist", "folder"),
    "usps": ("embedded", "usps", "folder"),
    "mnistm": ("embedded", "mnistm", "folder"),
    "svhn": ("embedded", "svhn", "folder"),
}
EMBEDDED_ROOT = "src/genadapt/data/embedded"  # the "raw input" of embedded datasets: the generator code


def knob(*, choices: tuple | None = None, minimum: float | None = None):
    """A required field with optional allowed values or a lower bound."""
    return dataclasses.field(metadata={"choices": choices, "minimum": minimum})


@dataclasses.dataclass(frozen=True)
class DatasetParams:
    source: str  # embedded, the dataset's own name (its published layout) or folder; see SOURCES
    root: str  # raw input folder, a DVC dependency of prepare-data; EMBEDDED_ROOT for embedded
    n_train: int = knob(minimum=0)  # embedded: images generated; real: keep the first n (0 = all)
    n_test: int = knob(minimum=0)


@dataclasses.dataclass(frozen=True)
class DataParams:
    faces: DatasetParams
    mnist: DatasetParams
    usps: DatasetParams
    mnistm: DatasetParams
    svhn: DatasetParams

    def get(self, name: str) -> DatasetParams:
        """The section of dataset ``name``, or a one-line error listing the known names."""
        if name not in DATASETS:
            raise PipelineError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
        return getattr(self, name)


@dataclasses.dataclass(frozen=True)
class TrackingParams:
    experiment: str  # MLflow experiment that every model run goes into
    log_every: int = knob(minimum=1)  # steps between batched metric writes to MLflow


@dataclasses.dataclass(frozen=True)
class VAEParams:
    dataset: str = knob(choices=DATASETS)
    latent_dim: int = knob(minimum=1)
    base_channels: int = knob(minimum=1)  # width of the first conv; doubled at each downsampling
    batch_size: int = knob(minimum=1)
    steps: int = knob(minimum=1)
    lr: float = knob(minimum=0.0)
    kl_weight: float = knob(minimum=0.0)  # beta in loss = recon + beta * KL
    kl_anneal_steps: int = knob(minimum=0)  # linear warm-up of the KL weight from 0; 0 disables
    n_reconstructions: int = knob(minimum=1)  # test images shown over their reconstructions
    n_samples: int = knob(minimum=1)  # random samples in the sample grid
    device: str = knob(choices=("auto", "cpu", "cuda"))


@dataclasses.dataclass(frozen=True)
class Params:
    seed: int
    data: DataParams
    tracking: TrackingParams
    vae: VAEParams


def _check_value(value, kind, key: str):
    """Return ``value`` converted to ``kind`` or raise a one-line error naming ``key``."""
    if dataclasses.is_dataclass(kind):
        return _build(kind, value, key)
    origin = typing.get_origin(kind)
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise PipelineError(f"params.yaml: {key}: expected a list, got {value!r}")
        (item_kind, *_) = typing.get_args(kind)
        return tuple(_check_value(v, item_kind, f"{key}[{i}]") for i, v in enumerate(value))
    if kind is bool:
        if not isinstance(value, bool):
            raise PipelineError(f"params.yaml: {key}: expected true or false, got {value!r}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise PipelineError(f"params.yaml: {key}: expected an integer, got {value!r}")
        return value
    if kind is float:
        # YAML 1.1 reads '1e-4' (no dot) as a string, so numeric strings are accepted here.
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise PipelineError(f"params.yaml: {key}: expected a float, got {value!r}")
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise PipelineError(f"params.yaml: {key}: expected a string, got {value!r}")
        return value
    raise TypeError(f"unsupported parameter type {kind!r} for {key}")


def _build(cls, mapping, prefix: str):
    """Instantiate dataclass ``cls`` from a mapping, rejecting unknown, missing and mistyped keys."""
    where = prefix or "top level"
    if not isinstance(mapping, dict):
        raise PipelineError(f"params.yaml: {where}: expected a mapping, got {mapping!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in mapping:
        if key not in fields:
            name = f"{prefix}.{key}" if prefix else str(key)
            raise PipelineError(f"params.yaml: unknown key {name!r} (known here: {', '.join(fields)})")
    values = {}
    for name, field in fields.items():
        key = f"{prefix}.{name}" if prefix else name
        if name not in mapping:
            raise PipelineError(f"params.yaml: missing key {key!r}")
        value = _check_value(mapping[name], hints[name], key)
        choices, minimum = field.metadata.get("choices"), field.metadata.get("minimum")
        if choices is not None and value not in choices:
            raise PipelineError(f"params.yaml: {key}: {value!r} is not one of {', '.join(map(str, choices))}")
        if minimum is not None and value < minimum:
            raise PipelineError(f"params.yaml: {key}: {value!r} is below the minimum {minimum}")
        values[name] = value
    return cls(**values)


def parse_params(raw) -> Params:
    """Validate an already-loaded params mapping."""
    params = _build(Params, raw, "")
    for name in DATASETS:
        cfg = params.data.get(name)
        if cfg.source not in SOURCES[name]:
            raise PipelineError(f"params.yaml: data.{name}.source: {cfg.source!r} is not one of {', '.join(SOURCES[name])}")
        if cfg.source == "embedded" and 0 in (cfg.n_train, cfg.n_test):
            raise PipelineError(f"params.yaml: data.{name}: embedded data needs n_train and n_test >= 1 (0 means 'all' only for real data)")
    return params


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate ``params.yaml``; any problem is a :class:`PipelineError` naming the key."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise PipelineError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise PipelineError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return parse_params(raw)


def flatten(section, prefix: str) -> dict[str, object]:
    """A params section as flat ``prefix.key -> value`` pairs, for logging to MLflow."""
    flat = {}
    for field in dataclasses.fields(section):
        value = getattr(section, field.name)
        key = f"{prefix}.{field.name}"
        if dataclasses.is_dataclass(value):
            flat.update(flatten(value, key))
        else:
            flat[key] = value
    return flat

