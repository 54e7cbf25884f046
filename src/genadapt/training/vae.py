"""VAE training loop: Adam on the weighted negative ELBO, with optional linear KL annealing."""

from __future__ import annotations

import math

import pandas as pd
import torch

from genadapt.data.prepared import PreparedSplit
from genadapt.errors import PipelineError
from genadapt.models.vae import VAE, VAEConfig, vae_loss
from genadapt.params import VAEParams
from genadapt.runtime import progress, to_float_images
from genadapt.tracking import MetricBuffer


def vae_config(cfg: VAEParams, images) -> VAEConfig:
    """Architecture config for a prepared image array (N, H, W, C)."""
    _, height, width, channels = images.shape
    if height != width:
        raise PipelineError(f"vae: images must be square, got {height}x{width}")
    return VAEConfig(image_size=height, channels=channels, latent_dim=cfg.latent_dim, base_channels=cfg.base_channels)


def kl_weight_at(cfg: VAEParams, step: int) -> float:
    """beta_t = kl_weight * min(1, step / kl_anneal_steps) (step counted from 1)."""
    if cfg.kl_anneal_steps == 0:
        return cfg.kl_weight
    return cfg.kl_weight * min(1.0, step / cfg.kl_anneal_steps)


def batches(n_items: int, batch_size: int, generator: torch.Generator):
    """Endless index batches: a fresh permutation per epoch, the last short batch dropped."""
    batch_size = min(batch_size, n_items)
    while True:
        order = torch.randperm(n_items, generator=generator)
        for start in range(0, n_items - batch_size + 1, batch_size):
            yield order[start:start + batch_size]


def train_vae(
    cfg: VAEParams,
    train: PreparedSplit,
    device: torch.device,
    generator: torch.Generator,
    metrics: MetricBuffer | None = None,
) -> tuple[VAE, pd.DataFrame]:
    """Train a VAE on ``train.images``; returns the model (eval mode) and per-step curves."""
    model = VAE(vae_config(cfg, train.images)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    images = torch.from_numpy(train.images)  # (N, H, W, C) uint8, stays on the CPU
    n_pixels = images[0].numel()
    order = batches(len(images), cfg.batch_size, generator)
    rows = []
    model.train()
    for step in progress(range(1, cfg.steps + 1), desc="train vae"):
        x = to_float_images(images[next(order)]).to(device)  # (B, C, H, W)
        recon, mu, logvar = model(x, generator)
        beta = kl_weight_at(cfg, step)
        loss, recon_term, kl = vae_loss(recon, x, mu, logvar, beta)
        if not math.isfinite(loss.item()):
            raise PipelineError(f"vae: training diverged at step {step} (loss {loss.item()}); lower vae.lr")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        row = {
            "step": step,
            "loss": loss.item(),
            "recon_mse": recon_term.item() / n_pixels,  # per-pixel MSE on [0, 1]
            "kl": kl.item(),
            "kl_weight": beta,
        }
        rows.append(row)
        if metrics is not None:
            metrics.add(step, {k: v for k, v in row.items() if k != "step"})
    if metrics is not None:
        metrics.flush()
    return model.eval(), pd.DataFrame(rows)
