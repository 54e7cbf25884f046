"""The training loop of the domain-adaptation study, one for every method.

The method (``genadapt.families.adapt.methods.<name>``: source_only, dann, cdan_e, dann_st,
target_only) supplies what it trains on, its loss terms and an optional teacher; the loop holds the
schedules every method shares (DANN's, Ganin & Lempitsky sec. 5.2): the learning rate
mu_p = mu_0 / (1 + alpha p)^beta and the gradient-reversal weight lambda_p = 2 / (1 + exp(-gamma p)) - 1,
p in [0, 1] the training progress.

Every method is tested on the target's test split, which no method trains on and no choice sees.
Every ``val_every`` steps the network tested is scored on the target's validation split (carved
from its train split, so not in ``target_train``), and three weights are kept, one per selection
rule (:data:`SELECTIONS`), the same rules for every method:

- ``last``: the last step's weights, no selection at all;
- ``unsupervised``: the highest information maximisation on the *unlabelled* validation images,
  IM = H(mean_x p(y|x)) - mean_x H(p(y|x)) (confident predictions spread over the classes; the
  objective SHOT adapts with, used here only to choose), which needs no target label;
- ``labelled``: the highest accuracy on the first ``val_labels`` (at most 1000) labelled validation
  images, early stopping with a semi-supervised budget of labels.

The labelled choice is the model saved and plotted; the stage reports the test accuracy of all three.
``class_balance`` and ``invert_source`` are chosen on the labelled validation images too
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

from genadapt.core.errors import PipelineError
from genadapt.core.runtime import TrainingProgress, to_float_images
from genadapt.core.tracking import MetricBuffer
from genadapt.families.adapt.shared.method import get_method
from genadapt.families.adapt.shared.network import DANN, DANNConfig
from genadapt.families.adapt.shared.params import AdaptParams
from genadapt.training.augment import colour_texture
from genadapt.training.checkpointing import Checkpointer
from genadapt.training.sampling import EpochSampler
from genadapt.training.selection import KeepBest


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


SELECTIONS = ("last", "unsupervised", "labelled")  # (a), (b), (c): how the weights reported are chosen


def information_maximisation(probs: torch.Tensor) -> float:
    """H(mean prediction) - mean H(prediction) of class probabilities (N, K): log K at best (confident
    and balanced), 0 for uniform predictions or a collapse onto one class."""
    def entropy(p):
        return -(p * torch.log(p.clamp_min(1e-12))).sum(-1)

    return float(entropy(probs.mean(0)) - entropy(probs).mean())


def grl_lambda(progress_: float, gamma: float) -> float:
    return 2.0 / (1.0 + math.exp(-gamma * progress_)) - 1.0


def train_mode(
    mode: str,
    cfg: AdaptParams,
    data: PairData,
    device: torch.device,
    seed: int,
    metrics: MetricBuffer | None = None,
    checkpoint: Checkpointer | None = None,
    class_balance: float = 0.0,
    init: DANN | None = None,
) -> tuple[DANN, pd.DataFrame, dict[str, DANN]]:
    """Train one method (``mode``: a module of genadapt/families/adapt/methods/); returns the labelled
    choice (eval mode), per-step curves (``val_accuracy`` and ``val_information`` at the scored
    steps) and the network of each of :data:`SELECTIONS` (eval mode; the first best-scoring step for
    the two that score; every one is the last step's when ``val_every`` is 0). ``class_balance``:
    the pair's weight of dann_st's class-balance term."""
    method = get_method(mode, cfg.settings.get(mode))
    cfg = cfg.model_copy(update={"steps": method_steps(method, cfg)})
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    _, size, _, channels = data.source_train.images.shape
    model = DANN(DANNConfig(channels=channels, image_size=size, width=cfg.width)).to(device)
    if init is not None:  # start from a trained network (before the teacher copies it; a resume overrides it)
        model.load_state_dict(init.state_dict())
    optimizer = method.make_optimizer(model, cfg)
    teacher = method.make_teacher(model, cfg)
    stateful = {"model": model, "optimizer": optimizer} | ({"teacher": teacher} if teacher is not None else {})
    tested = teacher.module if teacher is not None else model  # what is scored, kept and returned
    done, extra = checkpoint.restore(stateful, generator, cfg.steps) if checkpoint else (0, {})
    rows = extra.get("curves", [])
    # The weights kept by each scoring rule: rule -> {"score", "step", "state"}.
    saved = extra.get("best", {})
    best = {rule: KeepBest(higher_is_better=True, record=saved.get(rule)) for rule in ("unsupervised", "labelled")}
    val_labelled = Domain(data.target_val.images[:cfg.val_labels], data.target_val.labels[:cfg.val_labels])

    labelled = method.labelled(data)
    x_lab, y_lab = torch.from_numpy(labelled.images), torch.from_numpy(labelled.labels)
    x_tgt = torch.from_numpy(data.target_train.images)  # unlabelled for the adaptation methods
    lab_sampler = EpochSampler(len(x_lab), cfg.batch_size, seed)
    tgt_sampler = EpochSampler(len(x_tgt), cfg.batch_size, seed + 1)
    model.train()
    bar = TrainingProgress(range(done + 1, cfg.steps + 1), f"train {mode}", cfg.steps, cfg.batch_size)
    for step in bar:
        p = (step - 1) / cfg.steps
        lr, lam = method.learning_rate(p, cfg), grl_lambda(p, cfg.gamma)
        for group in optimizer.param_groups:
            group["lr"] = lr
        idx = lab_sampler.indices(step)
        xs, ys = to_float_images(x_lab[idx]).to(device), y_lab[idx].to(device)  # (B, C, S, S), (B,)
        if cfg.source_texture and not method.uses_target_labels:
            xs = colour_texture(xs, generator, cfg.source_texture)
        xs = method.source_view(xs, generator)
        row = {"step": step, "lr": lr}
        if method.adapts:
            xt = to_float_images(x_tgt[tgt_sampler.indices(step)]).to(device)  # (B, C, S, S)
            xt, context = method.target_view(xt, teacher, generator)
            features, logits, domain_logits = method.forward(model, xs, xt, lam)  # (2B, F), (2B, K), (2B,)
            n = len(xs)
            loss_cls = F.cross_entropy(logits[:n], ys)
            domain_target = torch.cat([torch.zeros(n), torch.ones(len(xt))]).to(device)
            loss_dom = method.domain_loss(model, features, logits, domain_logits, domain_target, n, lam)
            loss = loss_cls + loss_dom  # the reversal layer turns + into the min-max game
            row.update(loss_domain=loss_dom.item(), grl_lambda=lam)
            loss_target, logged = method.target_loss(logits[n:], context, cfg, lam, class_balance)
            if loss_target is not None:
                loss = loss + loss_target
                row.update(logged)
            loss_inputs, logged = method.input_loss(model, xs, xt, logits, generator)
            if loss_inputs is not None:
                loss = loss + loss_inputs
                row.update(logged)
        else:
            _, logits, _ = model(xs)
            loss_cls = F.cross_entropy(logits, ys)
            loss = loss_cls
        if not math.isfinite(loss.item()):
            raise PipelineError(f"adaptation ({mode}): training diverged at step {step} (loss {loss.item()}); lower the instance's lr")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if teacher is not None:
            teacher.update_parameters(model)
        row.update(loss=loss.item(), loss_class=loss_cls.item())
        if cfg.val_every and len(data.target_val.labels) and (step % cfg.val_every == 0 or step == cfg.steps):
            tested.eval()
            row["val_accuracy"] = accuracy(tested, val_labelled)
            row["val_information"] = information_maximisation(predicted_probabilities(tested, data.target_val.images))
            tested.train()
            for rule, score in (("labelled", row["val_accuracy"]), ("unsupervised", row["val_information"])):
                best[rule].offer(step, score, tested.state_dict())
        rows.append(row)
        bar.log(loss=row["loss"])
        if metrics is not None:
            metrics.add(step, {k: v for k, v in row.items() if k != "step"})
        if checkpoint is not None:
            checkpoint.maybe_save(step, stateful, generator, {"curves": rows, "best": {rule: kept.record for rule, kept in best.items()}})
    if metrics is not None:
        metrics.flush()
    chosen = {"last": copy.deepcopy(tested).eval()}
    for rule in ("unsupervised", "labelled"):
        chosen[rule] = copy.deepcopy(tested).eval()
        if best[rule].state is not None:
            chosen[rule].load_state_dict(best[rule].state)
    return chosen["labelled"], pd.DataFrame(rows), chosen


def method_steps(method, cfg: AdaptParams) -> int:
    """How many steps ``method`` trains for on a pair: its ``steps_scale`` times the pair's ``steps``."""
    return max(1, round(method.steps_scale * cfg.steps))


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


@torch.no_grad()
def predicted_probabilities(model: DANN, images: np.ndarray, batch_size: int = 500) -> torch.Tensor:
    """Class probabilities (N, K) of images (N, S, S, C) uint8."""
    device = next(model.parameters()).device
    probs = [F.softmax(model(to_float_images(torch.from_numpy(images[start:start + batch_size])).to(device))[1], dim=1).cpu()
             for start in range(0, len(images), batch_size)]
    return torch.cat(probs)


def accuracy(model: DANN, domain: Domain) -> float:
    return float((features_and_predictions(model, domain.images)[1] == domain.labels).mean())
