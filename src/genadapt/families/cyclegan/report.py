"""The CycleGAN family's part of the report."""

from __future__ import annotations

import json

import pandas as pd
import torch

from genadapt.core.params import Params, flatten
from genadapt.core.registry import instance_paths
from genadapt.families.cyclegan.shared.params import CycleGANParams
from genadapt.families.cyclegan.shared.stored import LOSS_COLUMNS, instance, load_translators
from genadapt.figures import learning_curves
from genadapt.sections import Headline, Section, png_of_figure


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
    cfg = instance(params, name)
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
