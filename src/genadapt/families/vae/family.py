"""The VAE family's entry points: train, generate, evaluate (called by ``stages/``) and its report section."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from genadapt.data.prepared import PreparedSplit, load_split, read_meta
from genadapt.errors import PipelineError
from genadapt.families import StagePaths, instance_paths
from genadapt.families.vae.model import VAE, VAEConfig
from genadapt.families.vae.training import train_vae, vae_config
from genadapt.figures import learning_curves, plt, save_grid
from genadapt.metrics.reconstruction import reconstruction_mse
from genadapt.metrics.tsne import tsne_2d, tsne_by_value_figure
from genadapt.outputs import atomic_dir, atomic_file, write_json
from genadapt.params import Params, flatten
from genadapt.runtime import bf16_autocast, resolve_device, seed_everything, to_float_images
from genadapt.sections import Headline, Section, png_of_figure
from genadapt.tracking import MetricBuffer, log_data_inputs, model_run, resume_or_start_run, start_model_run, write_run_file
from genadapt.training.checkpointing import Checkpointer, fingerprint
from genadapt.weights import load_config, load_weights, save_weights

WEIGHTS = "vae"  # models/<name>/vae.safetensors + vae.json
ARTEFACTS = {
    "train": ("vae.safetensors", "vae.json", "mlflow_run.json"),
    "generate": ("reconstructions.png", "samples.png", "latent_tsne.png"),
    "evaluate": ("test_mse", "test_n"),
}


def train(params: Params, name: str, paths: StagePaths) -> None:
    _, cfg = params.instance(name)
    data_dir, out_dir, checkpoint_dir = paths.data, paths.out, paths.checkpoints
    meta = read_meta(data_dir)
    train_split = load_split(data_dir, "train")
    vae_config(cfg, train_split.images)  # shape check before an MLflow run is created
    device = resolve_device(cfg.device)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    bf16 = bf16_autocast(device, cfg.amp)  # a checkpoint resumes only in the precision it was trained in
    checkpoint = Checkpointer(
        checkpoint_dir / f"{name}.ckpt", fingerprint([flatten(cfg, name), params.seed, meta, bf16]), cfg.checkpoint_every
    )
    # An interrupted run resumes, and keeps logging into its MLflow run.
    run = resume_or_start_run(checkpoint.peek_extra().get("run_id"), checkpoint.peek_step(), lambda: start_model_run(
        params, name, {**flatten(cfg, name), "data.name": meta["name"], "data.source": meta["source"], "bf16_autocast": bf16}))
    with run.failing_on_error():
        log_data_inputs(run, {"training": data_dir})
        model, curves = train_vae(cfg, train_split, device, params.seed, MetricBuffer(run, params.tracking.log_every),
                                  checkpoint.with_extra(run_id=run.run_id))
        with atomic_dir(out_dir) as tmp:
            save_weights(model, model.cfg.to_dict(), tmp, WEIGHTS)
            write_run_file(tmp, run.run_id, name)
        with atomic_file(paths.curves) as tmp:
            curves.to_csv(tmp, index=False)
        checkpoint.remove()
        run.log_figure(learning_curves(curves, ["recon_mse", "kl", "loss"], "VAE training"), "curves/vae_training.png")
        run.log_file(paths.curves, "curves")
    run.finish()


def load_model(model_dir: Path, device: torch.device) -> VAE:
    model = VAE(VAEConfig(**load_config(model_dir, WEIGHTS)))
    return load_weights(model, model_dir, WEIGHTS).to(device).eval()


def _tsne_column(test: PreparedSplit, column: str) -> np.ndarray:
    """The test-table column (N,) that colours the latent t-SNE; an unknown name is a params error."""
    if column not in test.table.columns or column == "image_id":
        known = [c for c in test.table.columns if c != "image_id"]
        raise PipelineError(f"tsne_by: unknown column {column!r}; this dataset has: {', '.join(known)}")
    return test.table[column].to_numpy(np.int64)


@torch.no_grad()
def latent_means(model: VAE, images: np.ndarray, device: torch.device, batch_size: int = 250) -> np.ndarray:
    """Posterior means (N, latent_dim) of images (N, H, W, C) uint8."""
    means = [model.encode(to_float_images(torch.from_numpy(images[i:i + batch_size])).to(device))[0].cpu()
             for i in range(0, len(images), batch_size)]
    return torch.cat(means).numpy()


def generate(params: Params, name: str, paths: StagePaths) -> None:
    """Reconstructions of the first test images, random samples from the prior, and a t-SNE of
    the test set's latent codes coloured by ``tsne_by``."""
    _, cfg = params.instance(name)
    model_dir, data_dir, out_dir = paths.model, paths.data, paths.out
    device = resolve_device(cfg.device)
    model = load_model(model_dir, device)
    test = load_split(data_dir, "test")
    colour = _tsne_column(test, cfg.tsne_by)
    generator = seed_everything(params.seed)
    with atomic_dir(out_dir) as tmp, torch.no_grad():
        x = to_float_images(torch.from_numpy(test.images[: cfg.n_reconstructions])).to(device)
        recon = model.decode(model.encode(x)[0])  # posterior mean: deterministic reconstructions
        # Row 1: test images; row 2: their reconstructions.
        save_grid(torch.cat([x, recon]), tmp / "reconstructions.png", nrow=len(x))
        save_grid(model.sample(cfg.n_samples, generator), tmp / "samples.png", nrow=8)
        n = min(cfg.tsne_points, len(test.images))
        points = tsne_2d(latent_means(model, test.images[:n], device), params.seed)  # (n, 2)
        fig = tsne_by_value_figure(points, colour[:n], cfg.tsne_by,
                                   f"VAE latent means of {n} test images, t-SNE, coloured by {cfg.tsne_by}")
        fig.savefig(tmp / "latent_tsne.png", dpi=90)
        plt.close(fig)
    run = model_run(model_dir, "generate")
    run.log_dir(out_dir, "generated")


def evaluate(params: Params, name: str, paths: StagePaths) -> dict:
    """Test-set reconstruction MSE, per-pixel mean on [0, 1], over the whole test split."""
    model_dir, data_dir, out_file = paths.model, paths.data, paths.out
    device = resolve_device(params.instance(name)[1].device)
    model = load_model(model_dir, device)
    test = load_split(data_dir, "test")
    mse = reconstruction_mse(model, test.images, device)
    metrics = {"test_mse": mse, "test_n": len(test.images)}
    write_json(out_file, metrics)
    run = model_run(model_dir, "evaluate")
    run.log_metrics({"test_mse": mse, "test_n": len(test.images)})
    run.set_tags({"test_mse.protocol": "per-pixel mean squared error on [0,1], posterior-mean reconstructions, whole test split"})
    return metrics


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
