"""DVC stage evaluate-cyclegan@<name>: both directions of one CycleGAN scored.

Domain A is the instance's ``source``, B its ``target``; both directions are trained, translated
and scored. What evaluate measures, per direction, on the first ``n_translate`` test images of
the input domain (N beside every number):

- realism: ``fd_classifier`` (Frechet distance in the output domain's evaluator features, not
  FID) against the output domain's test split, and FID/KID against its Inception reference
  features when the weights are present;
- content kept: digits, ``translation_accuracy``: the output domain's evaluator reads the input's
  label on its translation (95% Wilson interval); faces, ``attribute_agreement``: the output
  domain's evaluator gives the translation the attributes the input domain's evaluator gives the
  input (mean over attributes, and per attribute);
- ``cycle_mse``: mean squared error of G_BA(G_AB(x)) against x, pixels in [0, 1];
- ``diversity_ratio``: mean pairwise distance of the translations' evaluator features over the
  same for as many real test images of the output domain at the translations' size (near 0: mode
  collapse).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from genadapt.core.outputs import write_json
from genadapt.core.params import DIGIT_DATASETS, Params
from genadapt.core.registry import StagePaths
from genadapt.core.runtime import resolve_device
from genadapt.core.tracking import model_run
from genadapt.data.format.prepared import load_split
from genadapt.data.format.transforms import to_common_format
from genadapt.data.image_files import read_images
from genadapt.evaluator.scoring import Evaluator
from genadapt.families.cyclegan.shared.params import CycleGANParams
from genadapt.families.cyclegan.shared.stored import direction_ends, instance, load_translators, translation_inputs
from genadapt.metrics.diversity import diversity_ratio
from genadapt.metrics.frechet import frechet_distance
from genadapt.metrics.inception.reference import score_against_reference
from genadapt.metrics.intervals import accuracy_with_interval


def _read_translations(folder: Path, n: int, channels: int) -> np.ndarray:
    files = [folder / f"{i:06d}.png" for i in range(n)]
    return read_images(files, "RGB" if channels == 3 else "L")


def diversity_against_real(evaluator, features: np.ndarray, real: np.ndarray, cfg: CycleGANParams) -> float:
    """``diversity_ratio`` of the translations' evaluator features against the real images (N, S, S, C)
    brought to the translations' size and channels first: it measures collapse, not resolution
    (64px faces read at 32px keep only ~0.8 of their diversity in evaluator features)."""
    return diversity_ratio(features, evaluator.features(to_common_format(real, cfg.image_size, cfg.channels)))


def direction_metrics(cfg: CycleGANParams, params: Params, direction: str, ends: dict, translated: np.ndarray,
                      inputs: np.ndarray, cycle_mse: float, device: torch.device) -> dict:
    """The metrics of one direction (see the module's docstring), keyed ``<direction>.<metric>``."""
    evaluator_in, evaluator_out = Evaluator(ends["input"]["evaluator"], device), Evaluator(ends["output"]["evaluator"], device)
    real_test = load_split(ends["output"]["data"], "test")
    n = len(translated)
    features = evaluator_out.features(translated)
    m = {"n": n, "real_test_n": len(real_test.images), "cycle_mse": cycle_mse,
         "fd_classifier": frechet_distance(features, evaluator_out.features(real_test.images))}
    m["diversity_ratio"] = diversity_against_real(evaluator_out, features, real_test.images[:n], cfg)
    m["diversity_real_n"] = min(n, len(real_test.images))
    if ends["input"]["name"] in DIGIT_DATASETS:
        labels = load_split(ends["input"]["data"], "test").labels[:n]
        m.update(accuracy_with_interval(evaluator_out.predict(translated) == labels, "translation_accuracy"))
    else:
        names = [a for a in evaluator_out.info["outputs"] if a in evaluator_in.info["outputs"]]
        said_in = evaluator_in.predict(inputs)[:, [evaluator_in.output_index(a) for a in names]]
        said_out = evaluator_out.predict(translated)[:, [evaluator_out.output_index(a) for a in names]]
        agree = (said_in == said_out).mean(0)  # (attributes,)
        m["attribute_agreement"] = float(agree.mean())
        m.update({f"attribute_agreement.{a}": float(v) for a, v in zip(names, agree)})
    m.update(score_against_reference(params.evaluate, translated, ends["output"]["reference"])[0])
    return {f"{direction}.{k}": v for k, v in m.items()}


def _cycle_mse(forward: nn.Module, back: nn.Module, inputs: np.ndarray) -> float:
    """Mean squared error of back(forward(x)) against x, pixels in [0, 1] (float, not re-quantised)."""
    device = next(forward.parameters()).device
    total = 0.0
    for start in range(0, len(inputs), 100):
        x = torch.from_numpy(inputs[start:start + 100]).permute(0, 3, 1, 2).float().div(255).to(device)
        y = (back(forward(x * 2 - 1)).float().clamp(-1, 1) + 1) / 2
        total += float(((y - x) ** 2).mean(dim=(1, 2, 3)).sum())
    return total / len(inputs)


def evaluate(params: Params, name: str, paths: StagePaths) -> dict:
    cfg = instance(params, name)
    device = resolve_device(cfg.device)
    pair = load_translators(paths.model, device)
    metrics = {}
    for direction, ends in direction_ends(cfg, paths).items():
        forward, back = (pair.a_to_b, pair.b_to_a) if direction == "a_to_b" else (pair.b_to_a, pair.a_to_b)
        inputs = translation_inputs(cfg, ends["input"]["data"])
        translated = _read_translations(paths.generated / direction, len(inputs), cfg.channels)
        metrics |= direction_metrics(cfg, params, direction, ends, translated, inputs, _cycle_mse(forward, back, inputs), device)
    write_json(paths.out, metrics)
    run = model_run(paths.model, "evaluate")
    run.log_metrics(metrics)
    return metrics
