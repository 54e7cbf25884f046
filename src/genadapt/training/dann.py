"""Training for the domain-adaptation study: one loop, four modes.

- ``source_only``: labelled source only (the lower bound).
- ``dann``: labelled source + unlabelled target; the domain classifier sits behind a gradient
  reversal whose weight follows lambda_p = 2 / (1 + exp(-gamma p)) - 1 and the learning rate
  mu_p = mu_0 / (1 + alpha p)^beta, p in [0, 1] the training progress (Ganin & Lempitsky, sec. 5.2).
- ``cdan_e``: CDAN+E (Long et al. 2018, https://arxiv.org/abs/1705.10667): the domain classifier
  sees the multilinear map of features and (detached) class probabilities, and each example's
  domain loss is weighted by 1 + exp(-entropy) of its prediction, normalised per domain, so
  confident (transferable) examples dominate the alignment. Same schedules as DANN.
- ``dann_st``: DANN plus self-training on confident target predictions, mean-teacher style
  (Tarvainen & Valpola 2017; French et al. 2018): an exponential moving average of the network
  (the teacher) labels each clean target batch; the student, seeing the same images randomly
  shifted and re-contrasted, learns the labels the teacher gives with probability >=
  ``st_threshold``, weighted by ``st_weight`` * lambda_p. A class-balance term (French et al.),
  KL(mean student prediction on the target batch || uniform) weighted by the pair's
  ``class_balance`` * lambda_p, keeps confident mistakes from pulling many target images into one
  class (real MNIST -> MNIST-M, 2400 steps: 1970 of 9001 test digits predicted 8 without it, 1218
  with it; target accuracy 0.763 -> 0.803). It assumes balanced target classes: on real MNIST-M -> USPS (USPS has
  twice as many 0s as 8s) it cost 0.930 -> 0.781. The teacher is the model tested.
- ``target_only``: labelled target only (the upper bound).

Every mode is tested on the target's test split, which no mode trains on and no choice sees. The
target's labelled validation split (carved from its train split, so not in ``target_train``) is
scored every ``val_every`` steps and the best-scoring weights are kept (early stopping, the same
rule for every mode); it is also what ``class_balance`` and ``invert_source`` are chosen by
(``bench/dann_presets.py``).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from genadapt.errors import PipelineError
from genadapt.models.dann import DANN, DANNConfig
from genadapt.params import DANN_MODES as MODES
from genadapt.params import DANNParams
from genadapt.runtime import TrainingProgress, to_float_images
from genadapt.tracking import MetricBuffer
from genadapt.training.augment import shift_and_contrast
from genadapt.training.checkpointing import Checkpointer
from genadapt.training.sampling import EpochSampler


@dataclass(frozen=True)
class Domain:
    images: np.ndarray  # (N, S, S, C) uint8 in the pair's common format
    labels: np.ndarray  # (N,) int64


@dataclass(frozen=True)
class PairData:
    """What training may see. The test splits are not here: they are read after training."""

    source_train: Domain
    target_train: Domain  # labels used by target_only alone
    target_val: Domain  # labelled, carved from the target's train split: reported for choosing settings, never trained on


def grl_lambda(progress_: float, gamma: float) -> float:
    return 2.0 / (1.0 + math.exp(-gamma * progress_)) - 1.0


def learning_rate(progress_: float, cfg: DANNParams) -> float:
    return cfg.lr / (1.0 + cfg.lr_alpha * progress_) ** cfg.lr_beta


def class_balance_loss(logits: torch.Tensor) -> torch.Tensor:
    """KL(mean predicted distribution || uniform) of logits (B, K): 0 when the batch's predictions
    average to uniform, log K when every image is given the same class with certainty."""
    mean_probs = F.softmax(logits, dim=1).mean(0)  # (K,)
    return (mean_probs * torch.log(mean_probs * mean_probs.numel() + 1e-8)).sum()


def train_mode(
    mode: str,
    cfg: DANNParams,
    data: PairData,
    device: torch.device,
    seed: int,
    metrics: MetricBuffer | None = None,
    checkpoint: Checkpointer | None = None,
    class_balance: float = 0.0,
    init: DANN | None = None,
) -> tuple[DANN, pd.DataFrame]:
    """Train one mode; returns the model (eval mode) and per-step curves, whose ``val_accuracy``
    column holds the validation scores: the model returned is the first best-scoring one (the last
    step's when ``val_every`` is 0). ``class_balance``: the pair's weight of dann_st's class-balance term."""
    if mode not in MODES:
        raise PipelineError(f"unknown DANN mode {mode!r}; choose one of {', '.join(MODES)}")
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    _, size, _, channels = data.source_train.images.shape
    model = DANN(DANNConfig(channels=channels, image_size=size, width=cfg.width)).to(device)
    if init is not None:  # start from a trained network (before the teacher copies it; a resume overrides it)
        model.load_state_dict(init.state_dict())
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    stateful = {"model": model, "optimizer": optimizer}
    teacher = None
    if mode == "dann_st":
        teacher = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg.st_ema), use_buffers=True)
        stateful["teacher"] = teacher
    done, extra = checkpoint.restore(stateful, generator, cfg.steps) if checkpoint else (0, {})
    rows = extra.get("curves", [])
    best = extra.get("best", {"accuracy": -1.0, "step": 0, "state": None})  # the weights kept, by validation accuracy

    labelled = data.target_train if mode == "target_only" else data.source_train
    x_lab, y_lab = torch.from_numpy(labelled.images), torch.from_numpy(labelled.labels)
    x_tgt = torch.from_numpy(data.target_train.images)  # unlabelled for the adaptation modes
    lab_sampler = EpochSampler(len(x_lab), cfg.batch_size, seed)
    tgt_sampler = EpochSampler(len(x_tgt), cfg.batch_size, seed + 1)
    adapt = mode in ("dann", "cdan_e", "dann_st")
    model.train()
    bar = TrainingProgress(range(done + 1, cfg.steps + 1), f"train {mode}", cfg.steps, cfg.batch_size)
    for step in bar:
        p = (step - 1) / cfg.steps
        lr, lam = learning_rate(p, cfg), grl_lambda(p, cfg.gamma)
        for group in optimizer.param_groups:
            group["lr"] = lr
        idx = lab_sampler.indices(step)
        xs, ys = to_float_images(x_lab[idx]).to(device), y_lab[idx].to(device)  # (B, C, S, S), (B,)
        row = {"step": step, "lr": lr}
        if adapt:
            xt = to_float_images(x_tgt[tgt_sampler.indices(step)]).to(device)
            if teacher is not None:
                with torch.no_grad():
                    teacher_probs = F.softmax(teacher.module(xt)[1], dim=1)  # (B, K) on the clean view
                xt = shift_and_contrast(xt, generator)
            # One pass over source + target so BatchNorm sees both domains: (2B, C, S, S).
            features, logits, domain_logits = model(torch.cat([xs, xt]), lam)
            n = len(xs)
            loss_cls = F.cross_entropy(logits[:n], ys)
            domain_target = torch.cat([torch.zeros(n), torch.ones(len(xt))]).to(device)
            if mode == "cdan_e":
                probs = F.softmax(logits, dim=1).detach()  # (2B, K)
                domain_logits = model.conditional_domain_logits(features, probs, lam)
                entropy = -(probs * torch.log(probs + 1e-8)).sum(1)
                weight = 1.0 + torch.exp(-entropy)
                weight = torch.cat([weight[:n] / weight[:n].sum(), weight[n:] / weight[n:].sum()]) / 2
                loss_dom = (weight * F.binary_cross_entropy_with_logits(domain_logits, domain_target, reduction="none")).sum()
            else:
                loss_dom = F.binary_cross_entropy_with_logits(domain_logits, domain_target)
            loss = loss_cls + loss_dom  # the reversal layer turns + into the min-max game
            row.update(loss_domain=loss_dom.item(), grl_lambda=lam)
            if teacher is not None:
                confidence, pseudo = teacher_probs.max(1)
                confident = (confidence >= cfg.st_threshold).float()  # (B,)
                loss_st = (F.cross_entropy(logits[n:], pseudo, reduction="none") * confident).mean()
                loss_balance = class_balance_loss(logits[n:])
                loss = loss + lam * (cfg.st_weight * loss_st + class_balance * loss_balance)
                row.update(loss_self_training=loss_st.item(), loss_class_balance=loss_balance.item(),
                           confident_fraction=confident.mean().item())
        else:
            _, logits, _ = model(xs)
            loss_cls = F.cross_entropy(logits, ys)
            loss = loss_cls
        if not math.isfinite(loss.item()):
            raise PipelineError(f"dann ({mode}): training diverged at step {step} (loss {loss.item()}); lower dann.lr")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if teacher is not None:
            teacher.update_parameters(model)
        row.update(loss=loss.item(), loss_class=loss_cls.item())
        if cfg.val_every and len(data.target_val.labels) and (step % cfg.val_every == 0 or step == cfg.steps):
            tested = teacher.module if teacher is not None else model
            row["val_accuracy"] = accuracy(tested.eval(), data.target_val)
            tested.train()
            if row["val_accuracy"] > best["accuracy"]:  # ties keep the earlier step
                best = {"accuracy": row["val_accuracy"], "step": step, "state": copy.deepcopy(tested.state_dict())}
        rows.append(row)
        bar.log(loss=row["loss"])
        if metrics is not None:
            metrics.add(step, {k: v for k, v in row.items() if k != "step"})
        if checkpoint is not None:
            checkpoint.maybe_save(step, stateful, generator, {"curves": rows, "best": best})
    if metrics is not None:
        metrics.flush()
    final = teacher.module if teacher is not None else model
    if best["state"] is not None:
        final.load_state_dict(best["state"])
    return final.eval(), pd.DataFrame(rows)


@torch.no_grad()
def features_and_predictions(model: DANN, images: np.ndarray, batch_size: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Features (N, F) and predicted classes (N,) of images (N, S, S, C) uint8."""
    device = next(model.parameters()).device
    feats, preds = [], []
    for start in range(0, len(images), batch_size):
        f, logits, _ = model(to_float_images(torch.from_numpy(images[start:start + batch_size])).to(device))
        feats.append(f.cpu())
        preds.append(logits.argmax(1).cpu())
    return torch.cat(feats).numpy(), torch.cat(preds).numpy()


def accuracy(model: DANN, domain: Domain) -> float:
    return float((features_and_predictions(model, domain.images)[1] == domain.labels).mean())
