"""DVC stage generate-vae@<name>: reconstructions, samples from the prior and the latent t-SNE."""

from __future__ import annotations

import numpy as np
import torch

from genadapt.core.errors import PipelineError
from genadapt.core.outputs import atomic_dir
from genadapt.core.params import Params
from genadapt.core.registry import StagePaths
from genadapt.core.runtime import resolve_device, seed_everything, to_float_images
from genadapt.core.tracking import model_run
from genadapt.data.format.prepared import PreparedSplit, load_split
from genadapt.families.vae.shared.model import VAE
from genadapt.families.vae.shared.stored import load_model
from genadapt.figures import plt, save_grid
from genadapt.metrics.tsne import tsne_2d, tsne_by_value_figure


def _tsne_column(test: PreparedSplit, column: str) -> np.ndarray:
    """The test-table column (N,) that colours the latent t-SNE; an unknown name is a params error."""
    if column not in test.table.columns or column == "image_id":
        known = [c for c in test.table.columns if c != "image_id"]
        raise PipelineError(f"tsne_by: unknown column {column!r}; this dataset has: {', '.join(known)}")
    return test.table[column].to_numpy(np.int64)


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
