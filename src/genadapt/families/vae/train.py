"""DVC stage train-vae@<name>: train one VAE and open its MLflow run."""

from __future__ import annotations

from genadapt.core.params import Params, flatten
from genadapt.core.registry import StagePaths
from genadapt.core.runtime import bf16_autocast, resolve_device
from genadapt.core.tracking import MetricBuffer, log_data_inputs
from genadapt.data.format.prepared import load_split, read_meta
from genadapt.families.vae.shared.stored import WEIGHTS
from genadapt.families.vae.training import train_vae, vae_config
from genadapt.training.session import Plot, close_training, open_training_run, save_trained, training_checkpoint


def train(params: Params, name: str, paths: StagePaths) -> None:
    _, cfg = params.instance(name)
    data_dir, checkpoint_dir = paths.data, paths.checkpoints
    meta = read_meta(data_dir)
    train_split = load_split(data_dir, "train")
    vae_config(cfg, train_split.images)  # shape check before an MLflow run is created
    device = resolve_device(cfg.device)
    bf16 = bf16_autocast(device, cfg.amp)  # a checkpoint resumes only in the precision it was trained in
    checkpoint = training_checkpoint(checkpoint_dir / f"{name}.ckpt", [flatten(cfg, name), params.seed, meta, bf16], cfg.checkpoint_every)
    # An interrupted run resumes, and keeps logging into its MLflow run.
    run = open_training_run(checkpoint, params, name,
                            {**flatten(cfg, name), "data.name": meta["name"], "data.source": meta["source"], "bf16_autocast": bf16})
    with run.failing_on_error():
        log_data_inputs(run, {"training": data_dir})
        model, curves = train_vae(cfg, train_split, device, params.seed, MetricBuffer(run, params.tracking.log_every),
                                  checkpoint.with_extra(run_id=run.run_id))
        save_trained(paths, name, run, {WEIGHTS: model}, curves)
        close_training(run, checkpoint, paths.curves, curves,
                       [Plot(["recon_mse", "kl", "loss"], "VAE training", "curves/vae_training.png")])
    run.finish()
