"""The GAN family's part of the report: headline rows, metrics with their protocol, curves, figures."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import torch

from genadapt.core.params import Params, flatten
from genadapt.core.registry import instance_paths
from genadapt.families.gan.kinds import get_kind
from genadapt.families.gan.shared.params import GANParams
from genadapt.families.gan.shared.stored import instance, load_generator
from genadapt.figures import learning_curves
from genadapt.sections import Headline, Section, png_of_figure

# The course reports' figures for the same task (real data, full size, GPU), shown beside ours.
COURSE_FIGURES = {
    ("dcgan", "faces", "FID"): "29.73 (IS 2.08; real CelebA, 1000 images, report 001)",
    ("acgan", "mnistm", "intended accuracy"): "0.903 (real digits, report 001)",
}


def headlines(params: Params, name: str, cfg: GANParams, metrics: dict) -> list[Headline]:
    """The summary rows of one GAN: FID and KID (when the weights exist), fd_classifier, and the
    intended accuracy of a conditional GAN, each with its N and uncertainty."""
    task = f"{cfg.kind.upper()}, {cfg.dataset} ({params.data.get(cfg.dataset).source})"
    sets = f"{metrics['generated_n']} generated vs {metrics['real_test_n']} test"
    rows = []
    if metrics.get("inception_available"):
        course = COURSE_FIGURES.get((cfg.kind, cfg.dataset, "FID"), "")
        rows.append(Headline(name, task, "FID", f"{metrics['fid']:.2f}", sets, course=course))
        rows.append(Headline(name, task, "KID", f"{metrics['kid_mean']:.4f}", sets,
                             f"± {metrics['kid_std']:.4f} (std over 100 subsets of {metrics['kid_subset_size']})"))
    rows.append(Headline(name, task, "fd_classifier (not FID)", f"{metrics['fd_classifier']:.2f}", sets))
    if "intended_accuracy" in metrics:
        rows.append(Headline(name, task, "intended accuracy", f"{metrics['intended_accuracy']:.3f}",
                             f"{metrics['intended_accuracy_n']} generated",
                             f"95% CI [{metrics['intended_accuracy_ci_low']:.3f}, {metrics['intended_accuracy_ci_high']:.3f}]",
                             COURSE_FIGURES.get((cfg.kind, cfg.dataset, "intended accuracy"), "")))
    return rows


def training_summary(model_dir: Path) -> dict:
    return json.loads((Path(model_dir) / "training_summary.json").read_text())


def report_section(params: Params, name: str) -> Section:
    """Metrics with their protocol, learning curves, the quality curve and the kind's figures."""
    cfg = instance(params, name)
    kind = get_kind(cfg.kind)
    paths = instance_paths("gan", name, cfg.dataset)
    metrics = json.loads(paths.out.read_text())
    curves = pd.read_csv(paths.curves)
    G = load_generator(paths.model, torch.device("cpu"))
    summary = training_summary(paths.model)
    notes = {
        "fd_classifier": f"Frechet distance in the {cfg.dataset} evaluator classifier's feature space, "
                         f"{metrics['generated_n']} generated vs {metrics['real_test_n']} test images (lower is better; not FID)",
        **kind.metric_notes(cfg),
    }
    loss_columns = [c for c in kind.loss_columns if c in curves]
    figures = [(f"{name} learning curves", png_of_figure(learning_curves(curves, loss_columns, f"{name} training")))]
    if "val_fd_classifier" in curves:
        scored = curves.dropna(subset=["val_fd_classifier"])
        figures.append((f"fd_classifier of the EMA generator against the validation split during training "
                        f"(best at step {summary['best_step']})",
                        png_of_figure(learning_curves(scored, ["val_fd_classifier"], "quality during training"))))
    if "val_intended_accuracy" in curves:
        scored = curves.dropna(subset=["val_intended_accuracy"])
        figures.append((f"Intended accuracy of the EMA generator's samples, read by the validation check during training; "
                        f"the checkpoint kept minimises fd_classifier x (1 + {cfg.condition_weight:g} x (1 - intended accuracy))",
                        png_of_figure(learning_curves(scored, ["val_intended_accuracy"], "condition during training"))))
    for file, caption in kind.figures.items():
        if (paths.generated / file).exists():
            figures.append((caption, (paths.generated / file).read_bytes()))
    rows = headlines(params, name, cfg, metrics)
    return Section(
        title=f"{name} ({cfg.kind}, {cfg.dataset}, {cfg.image_size}x{cfg.image_size})",
        params=flatten(cfg, name),
        metrics=metrics,
        metric_notes=notes,
        architecture=f"{G}\n\n{sum(p.numel() for p in G.parameters()):,} generator parameters",
        figures=figures,
        headlines=rows,
        thumbnails={rows[0].task: (paths.generated / "samples.png").read_bytes()},
    )
