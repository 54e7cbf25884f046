"""The GAN family's one training loop; the kind (``kinds/``) supplies the loss head.

- ``d_steps`` discriminator updates per generator update. G's update draws fresh fakes rather
  than scoring the last D round's again (README: "GAN lab notes" for the measurements).
- What D sees of an image batch (real, fake, or G's fresh fakes): the DiffAugment policy
  (``augment``, :mod:`~genadapt.families.gan.diffaugment`), then instance noise, Gaussian noise
  annealed linearly to 0.
- ``channels_last``: convolutions in channels-last memory format, on the CPU (oneDNN) as on CUDA.
- An exponential moving average of G's weights (``torch.optim.swa_utils``) used for sampling, its
  BatchNorm statistics measured afresh on ``bn_recalibration`` latent vectors before it is scored or
  kept (the averaged statistics fit none of its weights: the embedded faces' ACGAN, test
  fd_classifier 24.1 / 32.4 / 31.4 -> 21.5 / 24.9 / 24.8 over three seeds, docs/results.md).
- Every ``eval_every`` steps a cheap quality score (a callable: the Frechet distance in an
  evaluator classifier's feature space) is computed on the EMA
  generator, and the best generator is kept, since GAN quality often degrades late in training.

Images are in [-1, 1] inside the loop. All randomness comes from one seeded generator that is
saved in checkpoints, so an interrupted run resumes bit-for-bit on the CPU.
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from genadapt.core.errors import PipelineError
from genadapt.core.runtime import TrainingProgress, memory_format, mixed_precision, to_float_images
from genadapt.core.tracking import MetricBuffer
from genadapt.distributed import World
from genadapt.families.gan.diffaugment import diff_augment
from genadapt.families.gan.shared.kind import DiscriminatorBatch, GANKind
from genadapt.families.gan.shared.latent import sample_latent
from genadapt.families.gan.shared.model import Generator
from genadapt.families.gan.shared.params import GANParams
from genadapt.training.checkpointing import Checkpointer
from genadapt.training.ema import averaged_copy, recalibrated_copy
from genadapt.training.sampling import EpochSampler
from genadapt.training.selection import KeepBest


@dataclass(frozen=True)
class GANData:
    images: np.ndarray  # (N, S, S, C) uint8 at the GAN's size
    conditions: np.ndarray | None  # (N,) int64 class of each image (ACGAN), else None
    n_classes: int  # 0 unless ACGAN


def _with_noise(x: torch.Tensor, sigma: float, generator: torch.Generator) -> torch.Tensor:
    """x + N(0, sigma^2) instance noise drawn on the CPU from ``generator``; x itself once sigma is 0."""
    if sigma == 0.0:
        return x
    noise = torch.randn(x.shape, generator=generator) * sigma  # (B, C, S, S)
    layout = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
    return x + noise.to(x.device).contiguous(memory_format=layout)


def _d_view(x: torch.Tensor, policy: str, sigma: float, generator: torch.Generator) -> torch.Tensor:
    """What D sees of an image batch: DiffAugment's policy, then instance noise; (B, C, S, S) -> same shape."""
    return _with_noise(diff_augment(x, policy, generator), sigma, generator)


def _noise_std(cfg: GANParams, step: int) -> float:
    if cfg.instance_noise_steps == 0:
        return 0.0
    return cfg.instance_noise * max(0.0, 1.0 - step / cfg.instance_noise_steps)


def train_gan(
    kind: GANKind,
    cfg: GANParams,
    data: GANData,
    device: torch.device,
    seed: int,
    metrics: MetricBuffer | None = None,
    checkpoint: Checkpointer | None = None,
    quality_score: Callable[[Generator], dict[str, float]] | None = None,
    world: World | None = None,
) -> tuple[Generator, pd.DataFrame, dict]:
    """Train; returns the generator to sample from (best-scoring EMA copy), per-step curves and
    {'best_step', 'best_score'} (score of the returned generator; None without a scorer).

    Under torchrun (``world.size`` > 1) G and D are wrapped in DistributedDataParallel, each
    rank draws its own slice of the global batch and its own noise, and only the caller on
    rank 0 should pass ``metrics``, ``checkpoint`` (for saving) and ``quality_score``.
    """
    world = world or World()
    torch.manual_seed(seed)  # same initial weights on every rank
    generator = torch.Generator().manual_seed(seed + world.rank)
    net_cfg = kind.net_config(cfg, data.n_classes)
    G, D = Generator(net_cfg).to(device), kind.discriminator(net_cfg).to(device)
    use_cuda = device.type == "cuda"
    fmt = memory_format(cfg.channels_last)
    G, D = G.to(memory_format=fmt), D.to(memory_format=fmt)
    ema = averaged_copy(G, cfg.ema_decay) if cfg.ema_decay else None
    G_train, D_train = G, D
    if world.distributed:
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [device.index] if use_cuda else None
        # D's Q head is unused in D updates and its heads in none of G's: find_unused_parameters.
        G_train = DDP(G, device_ids=ids, broadcast_buffers=False)
        D_train = DDP(D, device_ids=ids, find_unused_parameters=True, broadcast_buffers=False)
    # InfoGAN's Q head shares D's trunk but is trained with G (on the mutual-information loss).
    q_params = list(D.q_head.parameters()) if D.q_head is not None else []
    d_params = [p for name, p in D.named_parameters() if not name.startswith("q_head.")]
    opt_g = torch.optim.Adam(list(G.parameters()) + q_params, lr=cfg.lr_g, betas=(cfg.beta1, cfg.beta2))
    opt_d = torch.optim.Adam(d_params, lr=cfg.lr_d, betas=(cfg.beta1, cfg.beta2))
    stateful = {"G": G, "D": D, "opt_g": opt_g, "opt_d": opt_d} | ({"ema": ema} if ema is not None else {})
    done, extra = checkpoint.restore(stateful, generator, cfg.steps) if checkpoint else (0, {})
    rows = extra.get("curves", [])
    best = KeepBest(record=extra.get("best"))  # lower score is better

    images = torch.from_numpy(data.images)
    conditions = torch.from_numpy(data.conditions) if data.conditions is not None else None
    # One global batch of batch_size * world.size per step; each rank takes its own slice.
    sampler = EpochSampler(len(images), cfg.batch_size * world.size, seed)

    def batch_indices(step: int) -> torch.Tensor:
        return sampler.indices(step).chunk(world.size)[world.rank]

    autocast = mixed_precision(device, cfg.amp)

    def to_device(x: torch.Tensor) -> torch.Tensor:
        x = x.to(device, non_blocking=True)
        # Image batches (B, C, S, S) in the models' memory format; latent vectors (B, L) as they are.
        return x.contiguous(memory_format=fmt) if x.dim() == 4 else x

    # The same latent vectors (bn_recalibration, latent_dim) for every recalibration, drawn apart from
    # the training's random stream so that evaluating never changes the training.
    recalibration = None
    if cfg.bn_recalibration:
        recalibration = sample_latent(net_cfg, cfg.bn_recalibration, torch.Generator().manual_seed(seed)).vector

    def sampling_generator() -> Generator:
        """The generator to score and keep, in eval mode: the EMA copy (else G), BatchNorm recalibrated."""
        source = ema.module if ema is not None else G
        if recalibration is None:
            return copy.deepcopy(source).eval()
        return recalibrated_copy(source, [to_device(b) for b in recalibration.split(cfg.batch_size)])

    G.train()
    D.train()
    bar = TrainingProgress(range(done + 1, cfg.steps + 1), f"train {kind.name}", cfg.steps, cfg.batch_size * cfg.d_steps * world.size)
    for step in bar:
        sigma = _noise_std(cfg, step)
        d_view = functools.partial(_d_view, policy=cfg.augment, sigma=sigma, generator=generator)

        for d_round in range(cfg.d_steps):
            idx = batch_indices((step - 1) * cfg.d_steps + d_round + 1)
            real = to_device(to_float_images(images[idx]) * 2 - 1)  # (B, C, S, S) in [-1, 1]
            latent = sample_latent(net_cfg, len(real), generator)
            opt_d.zero_grad(set_to_none=True)
            last_d = kind.discriminator_step(DiscriminatorBatch(
                D=D_train, G=G, real=real, latent=latent, conditions=conditions[idx].to(device) if conditions is not None else None,
                cfg=cfg, generator=generator, d_view=d_view, to_device=to_device, autocast=autocast))
            opt_d.step()

        latent = sample_latent(net_cfg, cfg.batch_size, generator)
        row = {"step": step}
        with autocast:
            fake = G_train(to_device(latent.vector))  # (B, C, S, S), fresh fakes for G's update
            out = D_train(d_view(fake))
            loss_adv = kind.generator_adversarial_loss(out)
            loss_g = loss_adv
            extra_g = kind.g_terms(cfg, out, latent, last_d, row)
            if extra_g is not None:
                loss_g = loss_g + extra_g
        loss_d = last_d.loss
        if not (math.isfinite(loss_d.item()) and math.isfinite(loss_g.item())):
            raise PipelineError(f"{kind.name}: training diverged at step {step} (loss_d {loss_d.item()}, loss_g {loss_g.item()})")
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        if ema is not None:
            ema.update_parameters(G)

        row.update(loss_d=loss_d.item(), loss_g=loss_adv.item(), **kind.d_summary(last_d), instance_noise=sigma)
        if quality_score is not None and cfg.eval_every and (step % cfg.eval_every == 0 or step == cfg.steps):
            # {"score": what the best generator is chosen by (lower is better), other named values}: the
            # curves get val_<name> of each (eval_samples vs the validation split; evaluate reports on test).
            candidate = sampling_generator()
            scored = quality_score(candidate)
            score = scored["score"]
            row.update({f"val_{key}": value for key, value in scored.items()})
            best.offer(step, score, candidate.state_dict())
        rows.append(row)
        bar.log(loss_d=row["loss_d"], loss_g=row["loss_g"])
        if metrics is not None:
            metrics.add(step, {k: v for k, v in row.items() if k != "step"})
        if checkpoint is not None and world.is_main:
            checkpoint.maybe_save(step, stateful, generator, {"curves": rows, "best": best.record})
    if metrics is not None:
        metrics.flush()

    if best.state is not None:  # the kept state was recalibrated when it was scored
        final = copy.deepcopy(ema.module if ema is not None else G).eval()
        final.load_state_dict(best.state)
    else:
        final = sampling_generator()
    summary = {"best_step": best.step if best.state is not None else cfg.steps,
               "best_score": None if best.state is None else best.score}
    return final, pd.DataFrame(rows), summary
