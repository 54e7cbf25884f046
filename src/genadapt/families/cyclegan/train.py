"""DVC stage train-cyclegan@<name>: train both translators of one CycleGAN and open its MLflow run."""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from genadapt.core.params import Params, flatten
from genadapt.core.registry import StagePaths
from genadapt.core.runtime import bf16_autocast, resolve_device
from genadapt.core.tracking import MetricBuffer, log_data_inputs
from genadapt.data.format.prepared import read_meta
from genadapt.evaluator.scoring import Evaluator
from genadapt.families.cyclegan.shared.stored import DIRECTIONS, LOSS_COLUMNS, instance, split_images
from genadapt.families.cyclegan.shared.training import Translators, UnpairedData, train_cyclegan, translate
from genadapt.metrics.frechet import frechet_distance
from genadapt.training.session import Plot, close_training, open_training_run, save_trained, training_checkpoint


class EvaluatorInput(nn.Module):
    """An evaluator classifier fed the model's [-1, 1] images (B, C, S, S), differentiably brought
    to its own size and channels: the frozen classifier of CyCADA's semantic-consistency loss."""

    def __init__(self, evaluator: Evaluator):
        super().__init__()
        self.classifier, self.size, self.channels = evaluator.model, evaluator.info["image_size"], evaluator.info["channels"]

    def forward(self, x):
        x = (x.float() + 1) / 2  # float: the antialiased resize has no bf16 backward on CPU
        if x.shape[-1] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", antialias=True, align_corners=False)
        if self.channels == 1 and x.shape[1] == 3:
            x = (0.299 * x[:, :1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:]).contiguous()
        elif self.channels == 3 and x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1).contiguous()
        return self.classifier(x)


def train(params: Params, name: str, paths: StagePaths) -> None:
    cfg = instance(params, name)
    meta_a, meta_b = read_meta(paths.data), read_meta(paths.data_b)
    data = UnpairedData(split_images(cfg, paths.data, "train"), split_images(cfg, paths.data_b, "train"))
    device = resolve_device(cfg.device)
    bf16 = bf16_autocast(device, cfg.amp)  # a checkpoint resumes only in the precision it was trained in
    checkpoint = training_checkpoint(paths.checkpoints / f"{name}.ckpt", [flatten(cfg, name), params.seed, meta_a, meta_b, bf16],
                                     cfg.checkpoint_every)
    evaluator_a, evaluator_b = Evaluator(paths.evaluator, device), Evaluator(paths.evaluator_b, device)
    # The best pair is chosen on the validation splits; the test splits are for evaluate only.
    val_a, val_b = split_images(cfg, paths.data, "val"), split_images(cfg, paths.data_b, "val")
    real_a, real_b = evaluator_a.features(val_a), evaluator_b.features(val_b)

    def quality_score(pair: Translators) -> float:
        """fd_classifier of eval_samples validation translations, summed over both directions."""
        n = cfg.eval_samples
        return (frechet_distance(evaluator_b.features(translate(pair.a_to_b, val_a[:n])), real_b)
                + frechet_distance(evaluator_a.features(translate(pair.b_to_a, val_b[:n])), real_a))

    semantic = EvaluatorInput(evaluator_a) if cfg.lambda_semantic else None
    run = open_training_run(checkpoint, params, name, {**flatten(cfg, name), "data.a": meta_a["name"], "data.b": meta_b["name"],
                                                       "data.a.source": meta_a["source"], "data.b.source": meta_b["source"],
                                                       "bf16_autocast": bf16})
    with run.failing_on_error():
        log_data_inputs(run, {"domain_a": paths.data, "domain_b": paths.data_b})
        pair, curves, summary = train_cyclegan(cfg, data, device, params.seed, MetricBuffer(run, params.tracking.log_every),
                                               checkpoint.with_extra(run_id=run.run_id), quality_score, semantic)
        save_trained(paths, name, run, {direction: getattr(pair, direction) for direction in DIRECTIONS}, curves, summary)
        close_training(run, checkpoint, paths.curves, curves,
                       [Plot(list(LOSS_COLUMNS), f"{name} training", "curves/training.png"),
                        Plot(["val_score"], f"{name}: fd_classifier both ways on the validation splits", "curves/quality.png",
                             scored_rows=True)], summary)
    run.finish()
