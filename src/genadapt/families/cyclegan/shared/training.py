"""CycleGAN's training loop: two generators (G_AB: A -> B, G_BA: B -> A), two PatchGAN
discriminators, least-squares adversarial losses, cycle and identity L1 losses, a history pool of
fakes for the discriminators, and optionally CyCADA's semantic-consistency loss.

Per step (images in [-1, 1], (B, C, S, S)):

    G:  MSE(D_B(G_AB(a)), 1) + MSE(D_A(G_BA(b)), 1)
        + lambda_cycle * (|G_BA(G_AB(a)) - a| + |G_AB(G_BA(b)) - b|)
        + lambda_cycle * lambda_identity * (|G_AB(b) - b| + |G_BA(a) - a|)
        + lambda_semantic * (CE(f(G_AB(a)), argmax f(a)) + CE(f(G_BA(b)), argmax f(b)))   f: frozen classifier
    D:  0.5 * (MSE(D_B(b), 1) + MSE(D_B(pool_B(G_AB(a))), 0)) + the same for D_A

The learning rate is constant for the first half of the steps and decays linearly to 0 over the
second (the paper's schedule). EMA copies of both generators translate; every ``eval_every``
steps a quality score (lower is better, a callable) picks the best pair. All randomness comes
from one seeded generator saved in checkpoints, pools included, so a resumed CPU run matches an
uninterrupted one bit for bit.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from genadapt.core.errors import PipelineError
from genadapt.core.runtime import TrainingProgress, memory_format, mixed_precision, to_float_images
from genadapt.core.tracking import MetricBuffer
from genadapt.families.cyclegan.shared.model import CycleGANConfig, PatchDiscriminator, ResnetGenerator
from genadapt.families.cyclegan.shared.params import CycleGANParams
from genadapt.training.checkpointing import Checkpointer
from genadapt.training.ema import averaged_copy
from genadapt.training.sampling import EpochSampler
from genadapt.training.selection import KeepBest


@dataclass(frozen=True)
class UnpairedData:
    a: np.ndarray  # (N_A, S, S, C) uint8, domain A at the model's size
    b: np.ndarray  # (N_B, S, S, C) uint8, domain B


@dataclass
class Translators:
    """The pair of generators a trained CycleGAN translates with (eval mode)."""

    a_to_b: ResnetGenerator
    b_to_a: ResnetGenerator


def net_config(cfg: CycleGANParams) -> CycleGANConfig:
    return CycleGANConfig(channels=cfg.channels, image_size=cfg.image_size, ngf=cfg.ngf, ndf=cfg.ndf,
                          n_downsample=cfg.n_downsample, n_blocks=cfg.n_blocks, d_layers=cfg.d_layers)


class ImagePool(nn.Module):
    """The last ``size`` fakes (Shrivastava et al. 2017): each fake of a batch is either returned as
    is or swapped, with probability 1/2, for a stored one, which it replaces. A module only so that
    its buffer travels in checkpoints."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size
        self.register_buffer("images", torch.empty(0))  # (n <= size, C, S, S), filled as fakes arrive

    def query(self, fakes: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if self.size == 0:
            return fakes
        fakes = fakes.detach()
        out = []
        for fake in fakes:
            n = len(self.images)
            if n < self.size:
                self.images = fake[None].clone() if n == 0 else torch.cat([self.images, fake[None]])
                out.append(fake)
            elif torch.rand(1, generator=generator).item() < 0.5:
                k = int(torch.randint(n, (1,), generator=generator))
                out.append(self.images[k].clone())
                self.images[k] = fake
            else:
                out.append(fake)
        return torch.stack(out).contiguous(memory_format=memory_format(fakes.is_contiguous(memory_format=torch.channels_last)))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        self.images = torch.empty_like(state_dict[prefix + "images"])  # a filled pool has another shape
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def cycle_loss(G_ab: nn.Module, G_ba: nn.Module, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """|G_BA(G_AB(a)) - a|_1 + |G_AB(G_BA(b)) - b|_1 (means): 0 when each generator inverts the other."""
    return F.l1_loss(G_ba(G_ab(a)), a) + F.l1_loss(G_ab(G_ba(b)), b)


def learning_rate(step: int, cfg: CycleGANParams) -> float:
    """Constant over the first half of the steps, then linear decay to 0 (step counted from 1)."""
    half = cfg.steps / 2
    return cfg.lr * min(1.0, (cfg.steps - step + 1) / max(half, 1.0))


def _lsgan(scores: torch.Tensor, real: bool) -> torch.Tensor:
    return F.mse_loss(scores.float(), torch.full_like(scores.float(), 1.0 if real else 0.0))


def train_cyclegan(
    cfg: CycleGANParams,
    data: UnpairedData,
    device: torch.device,
    seed: int,
    metrics: MetricBuffer | None = None,
    checkpoint: Checkpointer | None = None,
    quality_score: Callable[[Translators], float] | None = None,
    semantic: nn.Module | None = None,
) -> tuple[Translators, pd.DataFrame, dict]:
    """Train both directions; returns the translators (best-scoring EMA pair), per-step curves and
    {'best_step', 'best_score'}. ``semantic``: a frozen classifier of [0, 1] images (B, C, S, S) ->
    logits, used when ``lambda_semantic`` > 0."""
    if cfg.lambda_semantic and semantic is None:
        raise PipelineError("lambda_semantic > 0 needs the source domain's evaluator classifier")
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    net = net_config(cfg)
    fmt = memory_format(cfg.channels_last)
    G_ab, G_ba = ResnetGenerator(net).to(device, memory_format=fmt), ResnetGenerator(net).to(device, memory_format=fmt)
    D_a, D_b = PatchDiscriminator(net).to(device, memory_format=fmt), PatchDiscriminator(net).to(device, memory_format=fmt)
    pool_a, pool_b = ImagePool(cfg.pool_size).to(device), ImagePool(cfg.pool_size).to(device)
    opt_g = torch.optim.Adam([*G_ab.parameters(), *G_ba.parameters()], lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    opt_d = torch.optim.Adam([*D_a.parameters(), *D_b.parameters()], lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    ema = {"ema_ab": averaged_copy(G_ab, cfg.ema_decay), "ema_ba": averaged_copy(G_ba, cfg.ema_decay)} if cfg.ema_decay else {}
    stateful = {"G_ab": G_ab, "G_ba": G_ba, "D_a": D_a, "D_b": D_b, "pool_a": pool_a, "pool_b": pool_b,
                "opt_g": opt_g, "opt_d": opt_d} | ema
    done, extra = checkpoint.restore(stateful, generator, cfg.steps) if checkpoint else (0, {})
    rows = extra.get("curves", [])
    best = KeepBest(record=extra.get("best"))  # lower score is better

    images_a, images_b = torch.from_numpy(data.a), torch.from_numpy(data.b)
    sampler_a = EpochSampler(len(images_a), cfg.batch_size, seed)
    sampler_b = EpochSampler(len(images_b), cfg.batch_size, seed + 1)
    autocast = mixed_precision(device, cfg.amp)
    if semantic is not None:
        semantic = semantic.to(device).eval().requires_grad_(False)

    def batch(images: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        return (to_float_images(images[idx]) * 2 - 1).to(device).contiguous(memory_format=fmt)  # (B, C, S, S) in [-1, 1]

    def translators() -> Translators:
        if ema:
            return Translators(ema["ema_ab"].module, ema["ema_ba"].module)
        return Translators(G_ab, G_ba)

    for module in (G_ab, G_ba, D_a, D_b):
        module.train()
    bar = TrainingProgress(range(done + 1, cfg.steps + 1), "train cyclegan", cfg.steps, 2 * cfg.batch_size)
    for step in bar:
        lr = learning_rate(step, cfg)
        for opt in (opt_g, opt_d):
            for group in opt.param_groups:
                group["lr"] = lr
        a, b = batch(images_a, sampler_a.indices(step)), batch(images_b, sampler_b.indices(step))

        # Generators: the discriminators are fixed during this update.
        D_a.requires_grad_(False)
        D_b.requires_grad_(False)
        with autocast:
            fake_b, fake_a = G_ab(a), G_ba(b)
            loss_adv = _lsgan(D_b(fake_b), True) + _lsgan(D_a(fake_a), True)
            loss_cycle = F.l1_loss(G_ba(fake_b).float(), a) + F.l1_loss(G_ab(fake_a).float(), b)
            loss_g = loss_adv + cfg.lambda_cycle * loss_cycle
            loss_identity = torch.zeros((), device=device)
            if cfg.lambda_identity:
                loss_identity = F.l1_loss(G_ab(b).float(), b) + F.l1_loss(G_ba(a).float(), a)
                loss_g = loss_g + cfg.lambda_cycle * cfg.lambda_identity * loss_identity
            loss_semantic = torch.zeros((), device=device)
            if cfg.lambda_semantic:
                def agree(x, y):  # the classifier's label of x, asked of its translation y
                    return F.cross_entropy(semantic((y + 1) / 2).float(), semantic((x + 1) / 2).argmax(1))
                loss_semantic = agree(a, fake_b) + agree(b, fake_a)
                loss_g = loss_g + cfg.lambda_semantic * loss_semantic
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        for name, averaged in ema.items():
            averaged.update_parameters(G_ab if name == "ema_ab" else G_ba)

        # Discriminators: real against a mix of this step's and earlier fakes.
        D_a.requires_grad_(True)
        D_b.requires_grad_(True)
        with autocast:
            loss_d_b = 0.5 * (_lsgan(D_b(b), True) + _lsgan(D_b(pool_b.query(fake_b, generator)), False))
            loss_d_a = 0.5 * (_lsgan(D_a(a), True) + _lsgan(D_a(pool_a.query(fake_a, generator)), False))
            loss_d = loss_d_a + loss_d_b
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()

        if not (math.isfinite(loss_g.item()) and math.isfinite(loss_d.item())):
            raise PipelineError(f"cyclegan: training diverged at step {step} (loss_g {loss_g.item()}, loss_d {loss_d.item()})")
        row = {"step": step, "lr": lr, "loss_g_adv": loss_adv.item(), "loss_cycle": loss_cycle.item(),
               "loss_identity": loss_identity.item(), "loss_semantic": loss_semantic.item(),
               "loss_d_a": loss_d_a.item(), "loss_d_b": loss_d_b.item()}
        if quality_score is not None and cfg.eval_every and (step % cfg.eval_every == 0 or step == cfg.steps):
            score = quality_score(translators())
            row["val_score"] = score
            pair = translators()
            best.offer(step, score, {"a_to_b": pair.a_to_b.state_dict(), "b_to_a": pair.b_to_a.state_dict()})
        rows.append(row)
        bar.log(loss_g=loss_g.item(), loss_d=loss_d.item())
        if metrics is not None:
            metrics.add(step, {k: v for k, v in row.items() if k != "step"})
        if checkpoint is not None:
            checkpoint.maybe_save(step, stateful, generator, {"curves": rows, "best": best.record})
    if metrics is not None:
        metrics.flush()

    pair = translators()
    final = Translators(copy.deepcopy(pair.a_to_b).eval(), copy.deepcopy(pair.b_to_a).eval())
    if best.state is not None:
        final.a_to_b.load_state_dict(best.state["a_to_b"])
        final.b_to_a.load_state_dict(best.state["b_to_a"])
    summary = {"best_step": best.step if best.state is not None else cfg.steps,
               "best_score": None if best.state is None else best.score}
    return final, pd.DataFrame(rows), summary


@torch.no_grad()
def translate(G: ResnetGenerator, images: np.ndarray, batch_size: int = 100) -> np.ndarray:
    """Images (N, S, S, C) uint8 -> their translations (N, S, S, C) uint8, in eval mode."""
    device = next(G.parameters()).device
    out = []
    for start in range(0, len(images), batch_size):
        x = to_float_images(torch.from_numpy(images[start:start + batch_size])).to(device) * 2 - 1
        y = G(x).float().clamp(-1, 1)  # (B, C, S, S)
        out.append(((y + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu())
    return torch.cat(out).numpy()
