"""DVC stage train-gan@<name>: train one GAN of the family (genadapt.families.gan: DCGAN and its
conditioned variants; the kind in ``kinds/`` supplies the loss head).

Every model samples from its best-scoring EMA generator. The cheap quality score used during
training is ``fd_classifier``: the Frechet distance between generated and real images in the feature
space of the dataset's evaluator classifier (not FID), against the validation split while training
(to choose the checkpoint); evaluate reports it against the test split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from genadapt.core.params import Params, flatten
from genadapt.core.registry import StagePaths
from genadapt.core.runtime import bf16_autocast, resolve_device
from genadapt.core.tracking import (
    MetricBuffer,
    ModelRun,
    log_data_inputs,
)
from genadapt.data.format.prepared import load_split, read_meta
from genadapt.data.format.transforms import to_common_format
from genadapt.distributed import barrier, init_world, local_device, shutdown
from genadapt.evaluator.scoring import Evaluator
from genadapt.families.gan.kinds import get_kind
from genadapt.families.gan.shared.latent import generate_images, sample_latent
from genadapt.families.gan.shared.model import Generator
from genadapt.families.gan.shared.params import GANParams
from genadapt.families.gan.shared.stored import GENERATOR, instance
from genadapt.families.gan.training import GANData, train_gan
from genadapt.metrics.frechet import frechet_distance
from genadapt.training.session import Plot, close_training, open_training_run, save_trained, training_checkpoint


def load_gan_data(cfg: GANParams, data_dir: Path, split: str = "train") -> GANData:
    """The split at the GAN's size and channels, with the kind's conditions (ACGAN: attribute 0/1 or digit label)."""
    prepared = load_split(data_dir, split)
    images = to_common_format(prepared.images, cfg.image_size, cfg.channels)
    conditions, n_classes = get_kind(cfg.kind).conditions(cfg, prepared)
    return GANData(images, conditions, n_classes)


def conditional_score(fd_classifier: float, intended_accuracy: float, condition_weight: float) -> float:
    """What a conditional GAN's checkpoint is chosen by (lower is better): fd_classifier x (1 +
    condition_weight x the share of generated images the evaluator reads as another class)."""
    return fd_classifier * (1 + condition_weight * (1 - intended_accuracy))


def train(params: Params, name: str, paths: StagePaths) -> None:
    """Train one GAN. Under ``torchrun`` every rank trains; rank 0 alone logs, checkpoints and writes outputs."""
    cfg = instance(params, name)
    kind = get_kind(cfg.kind)
    data_dir, evaluator_dir, checkpoint_dir = paths.data, paths.evaluator, paths.checkpoints
    meta = read_meta(data_dir)
    data = load_gan_data(cfg, data_dir)
    world = init_world(resolve_device(cfg.device))
    device = local_device(resolve_device(cfg.device), world)
    bf16 = bf16_autocast(device, cfg.amp)  # a checkpoint resumes only in the precision it was trained in
    checkpoint = training_checkpoint(checkpoint_dir / f"{name}.ckpt", [flatten(cfg, name), params.seed, meta, world.size, bf16],
                                     cfg.checkpoint_every)
    if not world.is_main:
        train_gan(kind, cfg, data, device, params.seed, checkpoint=checkpoint, world=world)
        barrier(world)
        shutdown(world)
        return

    evaluator = Evaluator(evaluator_dir, device)
    # The best generator is chosen against the validation split; the test split is for evaluate only.
    val_features = evaluator.features(load_split(data_dir, "val").images)
    net_cfg = kind.net_config(cfg, data.n_classes)
    fixed = sample_latent(net_cfg, cfg.eval_samples, torch.Generator().manual_seed(params.seed + 1))

    def quality_score(G: Generator) -> dict[str, float]:
        images = generate_images(G, fixed.vector)  # G: the eval-mode generator sampling_generator() gives
        fd = frechet_distance(evaluator.features(images), val_features)
        scored = {"score": fd, "fd_classifier": fd}
        if fixed.classes is not None:  # a conditional kind: the condition counts in the choice too
            correct = kind.intended_correct(cfg, evaluator, images, fixed.classes.numpy())
            scored["intended_accuracy"] = float(correct.mean())
            scored["score"] = conditional_score(fd, scored["intended_accuracy"], cfg.condition_weight)
        return scored

    run = open_training_run(checkpoint, params, name, {**flatten(cfg, name), "data.name": meta["name"], "data.source": meta["source"],
                                                       "world_size": world.size, "bf16_autocast": bf16},
                            tags={"gan.kind": kind.name})
    with run.failing_on_error():
        log_data_inputs(run, {"training": data_dir})
        try:
            G, curves, summary = train_gan(kind, cfg, data, device, params.seed, MetricBuffer(run, params.tracking.log_every),
                                           checkpoint.with_extra(run_id=run.run_id), quality_score, world)
            save_trained(paths, name, run, {GENERATOR: G}, curves, summary)
        finally:
            barrier(world)
            shutdown(world)
        close_training(run, checkpoint, paths.curves, curves,
                       [Plot(kind.loss_columns, f"{name} training", "curves/training.png"),
                        Plot(["val_fd_classifier"], f"{name}: fd_classifier on the validation split during training", "curves/quality.png",
                             scored_rows=True)], summary)
        _log_mlflow_model(run, G)
    run.finish()


def _log_mlflow_model(run: ModelRun, G: Generator) -> None:
    """The generator as an MLflow PyTorch model (``mlflow.pytorch.load_model`` gives it back).

    Saved in the 'pt2' format (a torch.export graph, no pickled code): its input is the latent
    vector (B, latent_dim) float32, its output images (B, C, S, S) in [-1, 1].
    """
    import mlflow

    example = np.zeros((2, G.cfg.latent_dim), np.float32)
    mlflow.set_tracking_uri(run.client.tracking_uri)
    with mlflow.start_run(run_id=run.run_id):
        mlflow.pytorch.log_model(G.cpu().eval(), name="generator", input_example=example, serialization_format="pt2",
                                 pip_requirements=[f"torch=={torch.__version__.split('+')[0]}"])
