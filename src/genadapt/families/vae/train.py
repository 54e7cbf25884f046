"""DVC stage train-vae@<name>: train one VAE and open its MLflow run."""

from __future__ import annotations

from genadapt.core.outputs import atomic_dir, atomic_file
from genadapt.core.params import Params, flatten
from genadapt.core.registry import StagePaths
from genadapt.core.runtime import bf16_autocast, resolve_device
from genadapt.core.tracking import MetricBuffer, log_data_inputs, resume_or_start_run, start_model_run, write_run_file
from genadapt.core.weights import save_weights
from genadapt.data.prepared import load_split, read_meta
from genadapt.families.vae.stored import WEIGHTS
from genadapt.families.vae.training import train_vae, vae_config
from genadapt.figures import learning_curves
from genadapt.training.checkpointing import Checkpointer, fingerprint


def train(params: Params, name: str, paths: StagePaths) -> None:
    _, cfg = params.instance(name)
    data_dir, out_dir, checkpoint_dir = paths.data, paths.out, paths.checkpoints
    meta = read_meta(data_dir)
    train_split = load_split(data_dir, "train")
    vae_config(cfg, train_split.images)  # shape check before an MLflow run is created
    device = resolve_device(cfg.device)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    bf16 = bf16_autocast(device, cfg.amp)  # a checkpoint resumes only in the precision it was trained in
    checkpoint = Checkpointer(
        checkpoint_dir / f"{name}.ckpt", fingerprint([flatten(cfg, name), params.seed, meta, bf16]), cfg.checkpoint_every
    )
    # An interrupted run resumes, and keeps logging into its MLflow run.
    run = resume_or_start_run(checkpoint.peek_extra().get("run_id"), checkpoint.peek_step(), lambda: start_model_run(
        params, name, {**flatten(cfg, name), "data.name": meta["name"], "data.source": meta["source"], "bf16_autocast": bf16}))
    with run.failing_on_error():
        log_data_inputs(run, {"training": data_dir})
        model, curves = train_vae(cfg, train_split, device, params.seed, MetricBuffer(run, params.tracking.log_every),
                                  checkpoint.with_extra(run_id=run.run_id))
        with atomic_dir(out_dir) as tmp:
            save_weights(model, model.cfg.to_dict(), tmp, WEIGHTS)
            write_run_file(tmp, run.run_id, name)
        with atomic_file(paths.curves) as tmp:
            curves.to_csv(tmp, index=False)
        checkpoint.remove()
        run.log_figure(learning_curves(curves, ["recon_mse", "kl", "loss"], "VAE training"), "curves/vae_training.png")
        run.log_file(paths.curves, "curves")
    run.finish()
