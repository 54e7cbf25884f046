"""The VAE family's part of the report."""

from __future__ import annotations

import json

import pandas as pd
import torch

from genadapt.core.params import Params, flatten
from genadapt.core.registry import instance_paths
from genadapt.families.vae.shared.stored import load_model
from genadapt.figures import learning_curves
from genadapt.sections import Headline, Section, png_of_figure


def report_section(params: Params, name: str) -> Section:
    """Metrics with their protocol, learning curves, reconstructions, samples and the latent t-SNE."""
    _, cfg = params.instance(name)
    paths = instance_paths("vae", name, cfg.dataset)
    metrics = json.loads(paths.out.read_text())
    curves = pd.read_csv(paths.curves)
    model = load_model(paths.model, torch.device("cpu"))
    n_params = sum(p.numel() for p in model.parameters())
    task = f"VAE, {cfg.dataset} ({params.data.get(cfg.dataset).source})"
    return Section(
        title=f"{name} (VAE, {cfg.dataset})",
        params=flatten(cfg, name),
        metrics=metrics,
        metric_notes={
            "test_mse": f"per-pixel MSE on [0,1], posterior-mean reconstructions, test split, N={metrics['test_n']}",
            "test_n": "images in the test split",
        },
        architecture=f"{model}\n\n{n_params:,} parameters",
        thumbnails={task: (paths.generated / "samples.png").read_bytes()},
        headlines=[Headline(name, task, "test MSE (per pixel, [0,1])",
                            f"{metrics['test_mse']:.4f}", f"{metrics['test_n']} test images",
                            course="0.0197 (real CelebA 64x64, report 004)")],
        figures=[
            ("Learning curves (per-pixel reconstruction MSE, KL, loss)",
             png_of_figure(learning_curves(curves, ["recon_mse", "kl", "loss"], "VAE training"))),
            (f"Top: {cfg.n_reconstructions} test images; bottom: their reconstructions",
             (paths.generated / "reconstructions.png").read_bytes()),
            (f"{cfg.n_samples} random samples from the prior", (paths.generated / "samples.png").read_bytes()),
            (f"t-SNE of test-set latent means, coloured by {cfg.tsne_by}", (paths.generated / "latent_tsne.png").read_bytes()),
        ],
    )
