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
DANN_MODES = ("source_only", "dann", "cdan_e", "dann_st", "target_only")  # see genadapt.training.dann
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
    checkpoint_every: int = knob(minimum=0)  # steps between resumable checkpoints; 0 disables
    n_reconstructions: int = knob(minimum=1)  # test images shown over their reconstructions
    n_samples: int = knob(minimum=1)  # random samples in the sample grid
    tsne_by: str = knob()  # test-table column colouring the latent t-SNE: an attribute, or label for digits
    tsne_points: int = knob(minimum=10)  # test images in the latent t-SNE
    amp: bool  # bf16 autocast where the device computes bf16 natively (runtime.mixed_precision)
    channels_last: bool  # channels-last memory format for the convolutions (faster on CPU and CUDA)
    device: str = knob(choices=("auto", "cpu", "cuda"))


@dataclasses.dataclass(frozen=True)
class ClassifierParams:
    width: int = knob(minimum=1)  # first conv block's channels
    batch_size: int = knob(minimum=1)
    steps: int = knob(minimum=1)
    lr: float = knob(minimum=0.0)  # peak of the one-cycle schedule
    augment: bool = knob()  # train on shifted, re-contrasted, blurred, noisy views
    amp: bool  # bf16 autocast where the device computes bf16 natively (runtime.mixed_precision)
    channels_last: bool  # channels-last memory format for the convolutions (faster on CPU and CUDA)
    device: str = knob(choices=("auto", "cpu", "cuda"))


@dataclasses.dataclass(frozen=True)
class GANParams:
    """One GAN of the DCGAN family; the section name (dcgan, acgan_faces, acgan_digits, infogan) picks the kind."""

    dataset: str = knob(choices=DATASETS)
    condition: str  # ACGAN: a face attribute (e.g. Smiling) or 'label' for digits; '' otherwise
    image_size: int = knob(minimum=16)  # images are resized to this (a power of two)
    channels: int = knob(choices=(1, 3))
    nz: int = knob(minimum=1)
    ngf: int = knob(minimum=1)
    ndf: int = knob(minimum=1)
    n_categorical: int = knob(minimum=0)  # InfoGAN categorical code size; 0 otherwise
    n_continuous: int = knob(minimum=0)  # InfoGAN continuous codes; 0 otherwise
    info_weight: float = knob(minimum=0.0)  # InfoGAN mutual-information loss weight
    aux_weight: float = knob(minimum=0.0)  # ACGAN auxiliary classification loss weight
    aux_on_fake: bool = knob()  # ACGAN: also train D's class head on fakes' intended classes (the original)
    batch_size: int = knob(minimum=2)
    steps: int = knob(minimum=1)  # generator updates
    d_steps: int = knob(minimum=1)  # discriminator updates per generator update
    lr_g: float = knob(minimum=0.0)
    lr_d: float = knob(minimum=0.0)
    beta1: float = knob(minimum=0.0)
    real_label: list[float]  # soft labels: real targets drawn from U(low, high)
    fake_label: list[float]  # fake targets drawn from U(low, high)
    label_flip: float = knob(minimum=0.0)  # noisy labels: probability of swapping real/fake targets in D
    instance_noise: float = knob(minimum=0.0)  # std of Gaussian noise on D's inputs (in [-1,1] units) ...
    instance_noise_steps: int = knob(minimum=0)  # ... annealed linearly to 0 over these steps
    ema_decay: float = knob(minimum=0.0)  # EMA copy of G used for sampling; 0 disables
    eval_every: int = knob(minimum=0)  # steps between cheap quality scores (fd_classifier); best G is kept
    eval_samples: int = knob(minimum=2)
    checkpoint_every: int = knob(minimum=0)
    n_generate: int = knob(minimum=1)  # PNGs written by generate, from fixed seeds
    amp: bool  # bf16 autocast where the device computes bf16 natively (runtime.mixed_precision)
    channels_last: bool  # channels-last memory format for the convolutions (faster on CPU and CUDA)
    device: str = knob(choices=("auto", "cpu", "cuda"))


GAN_MODELS = {"dcgan": "dcgan", "acgan_faces": "acgan", "acgan_digits": "acgan", "infogan": "infogan"}  # section -> kind


@dataclasses.dataclass(frozen=True)
class EvaluateParams:
    inception: str = knob(choices=("auto", "required", "off"))  # auto: skip with one warning when weights are absent
    inception_weights: str  # path to pt_inception-2015-12-05-6726825d.pth; "" = the torch hub cache
    batch_size: int = knob(minimum=1)
    device: str = knob(choices=("auto", "cpu", "cuda"))


@dataclasses.dataclass(frozen=True)
class DomainPair:
    source: str = knob(choices=DIGIT_DATASETS)
    target: str = knob(choices=DIGIT_DATASETS)
    channels: int = knob(choices=(1, 3))  # both domains in grey or RGB (grey repeated / colour by luminance)
    invert_source: bool  # also train on the source's negatives (digits dark on light as well as light on dark)
    # dann_st: weight of the class-balance term (times lambda_p), which assumes the target's classes
    # are about equally frequent: 0 for real USPS and SVHN, whose classes are not.
    class_balance: float = knob(minimum=0.0)


@dataclasses.dataclass(frozen=True)
class DANNParams:
    pairs: dict[str, DomainPair]  # name -> source/target; one train-dann stage per pair
    modes: list[str]  # any of source_only, dann, cdan_e, dann_st, target_only
    image_size: int = knob(minimum=8)  # every pair is brought to this size (channels are per pair)
    width: int = knob(minimum=1)  # first conv block's channels
    batch_size: int = knob(minimum=2)  # per domain
    steps: int = knob(minimum=1)
    lr: float = knob(minimum=0.0)  # mu_0 of mu_p = mu_0 / (1 + alpha p)^beta
    lr_alpha: float = knob(minimum=0.0)
    lr_beta: float = knob(minimum=0.0)
    gamma: float = knob(minimum=0.0)  # lambda_p = 2 / (1 + exp(-gamma p)) - 1
    momentum: float = knob(minimum=0.0)
    weight_decay: float = knob(minimum=0.0)
    st_threshold: float = knob(minimum=0.0)  # dann_st: teacher confidence needed for a pseudo-label
    st_weight: float = knob(minimum=0.0)  # dann_st: weight of the self-training loss (times lambda_p)
    st_ema: float = knob(minimum=0.0)  # dann_st: decay of the teacher's moving average
    tsne_points: int = knob(minimum=10)  # test images per domain in the t-SNE plots
    checkpoint_every: int = knob(minimum=0)
    device: str = knob(choices=("auto", "cpu", "cuda"))


@dataclasses.dataclass(frozen=True)
class Params:
    seed: int
    data: DataParams
    tracking: TrackingParams
    vae: VAEParams
    dcgan: GANParams
    acgan_faces: GANParams
    acgan_digits: GANParams
    infogan: GANParams
    classifier: ClassifierParams
    evaluate: EvaluateParams
    dann: DANNParams


def _check_value(value, kind, key: str):
    """Return ``value`` converted to ``kind`` or raise a one-line error naming ``key``."""
    if dataclasses.is_dataclass(kind):
        return _build(kind, value, key)
    origin = typing.get_origin(kind)
    if origin is dict:
        if not isinstance(value, dict) or not value:
            raise PipelineError(f"params.yaml: {key}: expected a non-empty mapping, got {value!r}")
        _, value_kind = typing.get_args(kind)
        return {str(k): _check_value(v, value_kind, f"{key}.{k}") for k, v in value.items()}
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
    for section, kind in GAN_MODELS.items():
        gan = getattr(params, section)
        if len(gan.real_label) != 2 or len(gan.fake_label) != 2:
            raise PipelineError(f"params.yaml: {section}.real_label and fake_label must be [low, high]")
        if kind == "acgan" and not gan.condition:
            raise PipelineError(f"params.yaml: {section}.condition: ACGAN needs an attribute name or 'label'")
        if kind == "infogan" and gan.n_categorical + gan.n_continuous == 0:
            raise PipelineError(f"params.yaml: {section}: InfoGAN needs n_categorical or n_continuous > 0")
    for name, pair in params.dann.pairs.items():
        if pair.source == pair.target:
            raise PipelineError(f"params.yaml: dann.pairs.{name}: source and target are both {pair.source!r}")
    unknown = [m for m in params.dann.modes if m not in DANN_MODES]
    if unknown or not params.dann.modes:
        raise PipelineError(f"params.yaml: dann.modes: {unknown or 'empty'}; choose from {', '.join(DANN_MODES)}")
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

