"""VAE training loop: Adam on the weighted negative ELBO, with optional linear KL annealing."""

from __future__ import annotations

import math

import pandas as pd
import torch

from genadapt.core.errors import PipelineError
from genadapt.core.runtime import TrainingProgress, memory_format, mixed_precision, to_float_images
from genadapt.core.tracking import MetricBuffer
from genadapt.data.format.prepared import PreparedSplit
from genadapt.families.vae.shared.model import VAE, VAEConfig, vae_loss
from genadapt.families.vae.shared.params import VAEParams
from genadapt.training.checkpointing import Checkpointer
from genadapt.training.sampling import EpochSampler


def vae_config(cfg: VAEParams, images) -> VAEConfig:
    """Architecture config for a prepared image array (N, H, W, C)."""
    _, height, width, channels = images.shape
    if height != width:
        raise PipelineError(f"vae: images must be square, got {height}x{width}")
    if height < 8 or height & (height - 1):
        raise PipelineError(f"vae: the VAE needs images with a power-of-two side >= 8, got {height}x{width}")
    return VAEConfig(image_size=height, channels=channels, latent_dim=cfg.latent_dim, base_channels=cfg.base_channels)


def kl_weight_at(cfg: VAEParams, step: int) -> float:
    """beta_t = kl_weight * min(1, step / kl_anneal_steps) (step counted from 1)."""
    if cfg.kl_anneal_steps == 0:
        return cfg.kl_weight
    return cfg.kl_weight * min(1.0, step / cfg.kl_anneal_steps)


def train_vae(
    cfg: VAEParams,
    train: PreparedSplit,
    device: torch.device,
    seed: int,
    metrics: MetricBuffer | None = None,
    checkpoint: Checkpointer | None = None,
) -> tuple[VAE, pd.DataFrame]:
    """Train a VAE on ``train.images``; returns the model (eval mode) and per-step curves.

    With ``checkpoint``, state is saved every ``checkpoint.every`` steps and a matching earlier
    checkpoint is resumed, giving the same weights as an uninterrupted run on the CPU.
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)  # reparameterisation noise
    fmt = memory_format(cfg.channels_last)
    model = VAE(vae_config(cfg, train.images)).to(device, memory_format=fmt)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    stateful = {"model": model, "optimizer": optimizer}
    done, extra = checkpoint.restore(stateful, generator, cfg.steps) if checkpoint else (0, {})
    rows = extra.get("curves", [])
    images = torch.from_numpy(train.images)  # (N, H, W, C) uint8, stays on the CPU
    n_pixels = images[0].numel()
    sampler = EpochSampler(len(images), cfg.batch_size, seed)
    autocast = mixed_precision(device, cfg.amp)
    model.train()
    bar = TrainingProgress(range(done + 1, cfg.steps + 1), "train vae", cfg.steps, cfg.batch_size)
    for step in bar:
        x = to_float_images(images[sampler.indices(step)]).to(device, memory_format=fmt)  # (B, C, H, W)
        with autocast:
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
        bar.log(loss=row["loss"], recon_mse=row["recon_mse"])
        if metrics is not None:
            metrics.add(step, {k: v for k, v in row.items() if k != "step"})
        if checkpoint is not None:
            checkpoint.maybe_save(step, stateful, generator, {"curves": rows})
    if metrics is not None:
        metrics.flush()
    return model.eval(), pd.DataFrame(rows)
