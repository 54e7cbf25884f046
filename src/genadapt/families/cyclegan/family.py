"""The CycleGAN family's entry points: train, generate, evaluate (called by ``stages/``) and its report section.

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

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from genadapt.data.image_files import read_images
from genadapt.data.prepared import load_split, read_meta
from genadapt.data.transforms import to_common_format
from genadapt.errors import PipelineError
from genadapt.evaluator import Evaluator
from genadapt.families import StagePaths, instance_paths
from genadapt.families.cyclegan.model import CycleGANConfig, ResnetGenerator
from genadapt.families.cyclegan.params import CycleGANParams
from genadapt.families.cyclegan.training import Translators, UnpairedData, train_cyclegan, translate
from genadapt.figures import learning_curves, save_grid, uint8_batch
from genadapt.metrics.diversity import diversity_ratio
from genadapt.metrics.frechet import frechet_distance
from genadapt.metrics.inception import inception_metrics
from genadapt.metrics.inception_reference import check_same_weights, feature_extractor, read_reference, resolve_inception
from genadapt.metrics.intervals import accuracy_with_interval
from genadapt.outputs import atomic_dir, atomic_file, write_json
from genadapt.params import DIGIT_DATASETS, Params, flatten
from genadapt.runtime import bf16_autocast, resolve_device
from genadapt.sections import Headline, Section, png_of_figure
from genadapt.tracking import MetricBuffer, log_data_inputs, model_run, resume_or_start_run, start_model_run, write_run_file
from genadapt.training.checkpointing import Checkpointer, fingerprint
from genadapt.weights import load_config, load_weights, save_weights

DIRECTIONS = ("a_to_b", "b_to_a")
LOSS_COLUMNS = ("loss_g_adv", "loss_cycle", "loss_identity", "loss_d_a", "loss_d_b")
ARTEFACTS = {
    "train": ("a_to_b.safetensors", "a_to_b.json", "b_to_a.safetensors", "b_to_a.json", "training_summary.json", "mlflow_run.json"),
    "generate": ("a_to_b/", "b_to_a/", "grid_a_to_b.png", "grid_b_to_a.png"),
    "evaluate": tuple(f"{d}.{m}" for d in DIRECTIONS for m in ("fd_classifier", "cycle_mse", "diversity_ratio", "n")),
}


def _instance(params: Params, name: str) -> CycleGANParams:
    family, cfg = params.instance(name)
    if family != "cyclegan":
        raise PipelineError(f"model {name!r} is a {family}, not a CycleGAN")
    return cfg


def _ends(cfg: CycleGANParams, paths: StagePaths) -> dict[str, dict]:
    """Per direction: the input and output domains' names, data, evaluator and reference folders."""
    a = {"name": cfg.source, "data": paths.data, "evaluator": paths.evaluator, "reference": paths.reference}
    b = {"name": cfg.target, "data": paths.data_b, "evaluator": paths.evaluator_b, "reference": paths.reference_b}
    return {"a_to_b": {"input": a, "output": b}, "b_to_a": {"input": b, "output": a}}


def _images(cfg: CycleGANParams, data_dir: Path, split: str) -> np.ndarray:
    """One split at the model's size and channels: (N, S, S, C) uint8."""
    return to_common_format(load_split(data_dir, split).images, cfg.image_size, cfg.channels)


class EvaluatorInput(nn.Module):
    """An evaluator classifier fed the model's [-1, 1] images (B, C, S, S), differentiably brought
    to its own size and channels: the frozen classifier of CyCADA's semantic-consistency loss."""

    def __init__(self, evaluator: Evaluator):
        super().__init__()
        self.classifier, self.size, self.channels = evaluator.model, evaluator.info["image_size"], evaluator.info["channels"]

    def forward(self, x):
        x = (x.float() + 1) / 2  # float: the antialiased resize has no bf16 backward on CPU
        if x.shape[-1] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", antialias=True, align_corners=False)
        if self.channels == 1 and x.shape[1] == 3:
            x = (0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:]).contiguous()
        elif self.channels == 3 and x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1).contiguous()
        return self.classifier(x)


def train(params: Params, name: str, paths: StagePaths) -> None:
    cfg = _instance(params, name)
    meta_a, meta_b = read_meta(paths.data), read_meta(paths.data_b)
    data = UnpairedData(_images(cfg, paths.data, "train"), _images(cfg, paths.data_b, "train"))
    device = resolve_device(cfg.device)
    paths.checkpoints.mkdir(parents=True, exist_ok=True)
    bf16 = bf16_autocast(device, cfg.amp)  # a checkpoint resumes only in the precision it was trained in
    checkpoint = Checkpointer(paths.checkpoints / f"{name}.ckpt",
                              fingerprint([flatten(cfg, name), params.seed, meta_a, meta_b, bf16]), cfg.checkpoint_every)
    evaluator_a, evaluator_b = Evaluator(paths.evaluator, device), Evaluator(paths.evaluator_b, device)
    # The best pair is chosen on the validation splits; the test splits are for evaluate only.
    val_a, val_b = _images(cfg, paths.data, "val"), _images(cfg, paths.data_b, "val")
    real_a, real_b = evaluator_a.features(val_a), evaluator_b.features(val_b)

    def quality_score(pair: Translators) -> float:
        """fd_classifier of eval_samples validation translations, summed over both directions."""
        n = cfg.eval_samples
        return (frechet_distance(evaluator_b.features(translate(pair.a_to_b, val_a[:n])), real_b)
                + frechet_distance(evaluator_a.features(translate(pair.b_to_a, val_b[:n])), real_a))

    semantic = EvaluatorInput(evaluator_a) if cfg.lambda_semantic else None
    run = resume_or_start_run(checkpoint.peek_extra().get("run_id"), checkpoint.peek_step(), lambda: start_model_run(
        params, name, {**flatten(cfg, name), "data.a": meta_a["name"], "data.b": meta_b["name"], "data.a.source": meta_a["source"],
                       "data.b.source": meta_b["source"], "bf16_autocast": bf16}))
    with run.failing_on_error():
        log_data_inputs(run, {"domain_a": paths.data, "domain_b": paths.data_b})
        pair, curves, summary = train_cyclegan(cfg, data, device, params.seed, MetricBuffer(run, params.tracking.log_every),
                                               checkpoint.with_extra(run_id=run.run_id), quality_score, semantic)
        with atomic_dir(paths.out) as tmp:
            for direction in DIRECTIONS:
                G = getattr(pair, direction)
                save_weights(G, G.cfg.to_dict(), tmp, direction)
            write_json(tmp / "training_summary.json", summary)
            write_run_file(tmp, run.run_id, name)
        with atomic_file(paths.curves) as tmp:
            curves.to_csv(tmp, index=False)
        checkpoint.remove()
        run.log_figure(learning_curves(curves, [c for c in LOSS_COLUMNS if c in curves], f"{name} training"), "curves/training.png")
        if "val_score" in curves:
            scored = curves.dropna(subset=["val_score"])
            run.log_figure(learning_curves(scored, ["val_score"], f"{name}: fd_classifier both ways on the validation splits"),
                           "curves/quality.png")
        run.log_file(paths.curves, "curves")
        run.log_metrics({k: v for k, v in summary.items() if v is not None})
    run.finish()


def load_translators(model_dir: Path, device: torch.device) -> Translators:
    loaded = {}
    for direction in DIRECTIONS:
        G = ResnetGenerator(CycleGANConfig(**load_config(model_dir, direction)))
        loaded[direction] = load_weights(G, model_dir, direction).to(device).eval()
    return Translators(**loaded)


def _inputs(cfg: CycleGANParams, data_dir: Path) -> np.ndarray:
    """The evaluated inputs: the first n_translate test images, (N, S, S, C) uint8."""
    return _images(cfg, data_dir, "test")[:cfg.n_translate]


def generate(params: Params, name: str, paths: StagePaths) -> None:
    """Translate the first ``n_translate`` test images each way (PNGs), and the grids of
    input / translation / reconstruction (rows of 8) both ways."""
    cfg = _instance(params, name)
    pair = load_translators(paths.model, resolve_device(cfg.device))
    with atomic_dir(paths.out) as tmp:
        for direction, ends in _ends(cfg, paths).items():
            forward, back = (pair.a_to_b, pair.b_to_a) if direction == "a_to_b" else (pair.b_to_a, pair.a_to_b)
            inputs = _inputs(cfg, ends["input"]["data"])
            translated = translate(forward, inputs)
            (tmp / direction).mkdir()
            for i, image in enumerate(translated):
                Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(tmp / direction / f"{i:06d}.png")
            shown = inputs[:8]
            rows = np.concatenate([shown, translate(forward, shown), translate(back, translate(forward, shown))])
            save_grid(uint8_batch(rows), tmp / f"grid_{direction}.png", nrow=len(shown))
    run = model_run(paths.model, "generate")
    for png in sorted(paths.out.glob("*.png")):
        run.log_file(png, "generated")


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
    ref_pool, ref_info = read_reference(ends["output"]["reference"])
    m["inception_available"] = int(ref_pool is not None)
    if ref_pool is not None:
        weights = check_same_weights(resolve_inception(params.evaluate)[0], ref_info, ends["output"]["reference"])
        rgb = translated if translated.shape[-1] == 3 else np.repeat(translated, 3, axis=-1)
        pool, logits = feature_extractor(params.evaluate, weights)(rgb)
        m.update(inception_metrics(pool, logits, ref_pool, params.evaluate.kid_subset_size))
    return {f"{direction}.{k}": v for k, v in m.items()}


@torch.no_grad()
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
    cfg = _instance(params, name)
    device = resolve_device(cfg.device)
    pair = load_translators(paths.model, device)
    metrics = {}
    for direction, ends in _ends(cfg, paths).items():
        forward, back = (pair.a_to_b, pair.b_to_a) if direction == "a_to_b" else (pair.b_to_a, pair.a_to_b)
        inputs = _inputs(cfg, ends["input"]["data"])
        translated = _read_translations(paths.generated / direction, len(inputs), cfg.channels)
        metrics |= direction_metrics(cfg, params, direction, ends, translated, inputs, _cycle_mse(forward, back, inputs), device)
    write_json(paths.out, metrics)
    run = model_run(paths.model, "evaluate")
    run.log_metrics(metrics)
    return metrics


def headlines(params: Params, name: str, cfg: CycleGANParams, metrics: dict) -> list[Headline]:
    """Per direction: the content kept (with N and interval), the diversity ratio, fd_classifier and FID."""
    rows = []
    for direction, (src, dst) in {"a_to_b": (cfg.source, cfg.target), "b_to_a": (cfg.target, cfg.source)}.items():
        task = f"CycleGAN, {src} ({params.data.get(src).source}) -> {dst} ({params.data.get(dst).source})"
        m = {k.split(".", 1)[1]: v for k, v in metrics.items() if k.startswith(direction + ".")}
        n = f"{m['n']} translated test images"
        if "translation_accuracy" in m:
            rows.append(Headline(name, task, "translation accuracy", f"{m['translation_accuracy']:.3f}", n,
                                 f"95% CI [{m['translation_accuracy_ci_low']:.3f}, {m['translation_accuracy_ci_high']:.3f}]"))
        else:
            rows.append(Headline(name, task, "attribute agreement", f"{m['attribute_agreement']:.3f}", n))
        rows.append(Headline(name, task, "diversity ratio (collapse < 0.7)", f"{m['diversity_ratio']:.3f}",
                             f"{n} vs {m['diversity_real_n']} real"))
        sets = f"{m['n']} translated vs {m['real_test_n']} test"
        if m.get("inception_available"):
            rows.append(Headline(name, task, "FID", f"{m['fid']:.2f}", sets))
        rows.append(Headline(name, task, "fd_classifier (not FID)", f"{m['fd_classifier']:.2f}", sets))
    return rows


def report_section(params: Params, name: str) -> Section:
    """Metrics, learning and quality curves, and the input / translation / reconstruction grids both ways."""
    cfg = _instance(params, name)
    paths = instance_paths("cyclegan", name, cfg.source, cfg.target)
    metrics = json.loads(paths.out.read_text())
    curves = pd.read_csv(paths.curves)
    summary = json.loads((paths.model / "training_summary.json").read_text())
    figures = [(f"{name} learning curves", png_of_figure(learning_curves(curves, [c for c in LOSS_COLUMNS if c in curves],
                                                                         f"{name} training")))]
    if "val_score" in curves:
        scored = curves.dropna(subset=["val_score"])
        figures.append((f"fd_classifier of both directions' validation translations during training (best at step {summary['best_step']})",
                        png_of_figure(learning_curves(scored, ["val_score"], "quality during training"))))
    for direction, (src, dst) in {"a_to_b": (cfg.source, cfg.target), "b_to_a": (cfg.target, cfg.source)}.items():
        grid = paths.generated / f"grid_{direction}.png"
        if grid.exists():
            figures.append((f"{src} -> {dst}: input (top row), translation, reconstruction {src} -> {dst} -> {src} (bottom)",
                            grid.read_bytes()))
    notes = {k: "pixels in [0, 1]" for k in metrics if k.endswith("cycle_mse")}
    pair = load_translators(paths.model, torch.device("cpu"))
    rows = headlines(params, name, cfg, metrics)
    tasks = list(dict.fromkeys(h.task for h in rows))  # a_to_b's, then b_to_a's
    return Section(
        title=f"{name} (CycleGAN, {cfg.source} <-> {cfg.target}, {cfg.image_size}x{cfg.image_size})",
        params=flatten(cfg, name),
        metrics=metrics,
        metric_notes=notes,
        architecture=f"{pair.a_to_b}\n\n{sum(p.numel() for p in pair.a_to_b.parameters()):,} parameters per generator",
        figures=figures,
        headlines=rows,
        thumbnails={task: (paths.generated / f"grid_{direction}.png").read_bytes()
                    for task, direction in zip(tasks, ("a_to_b", "b_to_a")) if (paths.generated / f"grid_{direction}.png").exists()},
    )
