"""Train, generate and evaluate steps shared by the DCGAN family (dcgan, acgan_faces, acgan_digits, infogan).

Every model samples from its best-scoring EMA generator. The cheap quality score used during
training, and reported by evaluate, is ``fd_classifier``: the Frechet distance between generated
and real test images in the feature space of the dataset's evaluator classifier (not FID).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from genadapt.checkpoints import load_config, load_weights, save_weights
from genadapt.data.prepared import load_split, read_meta
from genadapt.data.real.images import read_images
from genadapt.data.transforms import to_common_format
from genadapt.distributed import barrier, init_world, local_device, shutdown
from genadapt.errors import PipelineError
from genadapt.figures import learning_curves, save_grid
from genadapt.metrics.frechet import frechet_distance
from genadapt.metrics.inception import InceptionFeatures, inception_metrics
from genadapt.models.gan import GANConfig, Generator
from genadapt.outputs import atomic_dir, write_json
from genadapt.params import GAN_MODELS, GANParams, Params, flatten
from genadapt.runtime import bf16_autocast, resolve_device
from genadapt.steps import StagePaths
from genadapt.steps.classifier import Evaluator
from genadapt.steps.inception import read_reference, resolve_inception
from genadapt.tracking import MetricBuffer, ModelRun, model_run, start_model_run, write_run_file
from genadapt.training.checkpointing import Checkpointer, fingerprint
from genadapt.training.gan import GANData, gan_config, generate_images, sample_latent, train_gan

GENERATOR = "generator"


def _section(params: Params, name: str) -> tuple[GANParams, str]:
    if name not in GAN_MODELS:
        raise PipelineError(f"unknown GAN {name!r}; choose one of {', '.join(GAN_MODELS)}")
    return getattr(params, name), GAN_MODELS[name]


def load_gan_data(cfg: GANParams, kind: str, data_dir: Path, split: str = "train") -> GANData:
    """The split at the GAN's size and channels, with ACGAN conditions (attribute 0/1 or digit label)."""
    prepared = load_split(data_dir, split)
    images = to_common_format(prepared.images, cfg.image_size, cfg.channels)
    if kind != "acgan":
        return GANData(images, None, 0)
    if cfg.condition == "label":
        if "label" not in prepared.table:
            raise PipelineError(f"condition 'label' needs a digit dataset; {data_dir} has attributes")
        return GANData(images, prepared.labels, 10)
    return GANData(images, prepared.attribute(cfg.condition), 2)


def _to_uint8_grid(images: np.ndarray) -> torch.Tensor:
    """(N, S, S, C) uint8 -> (N, C, S, S) float in [0, 1] for torchvision grids."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255


def train(params: Params, name: str, paths: StagePaths) -> None:
    """Train one GAN. Under ``torchrun`` every rank trains; rank 0 alone logs, checkpoints and writes outputs."""
    cfg, kind = _section(params, name)
    data_dir, evaluator_dir, out_dir, checkpoint_dir = paths.data, paths.evaluator, paths.out, paths.checkpoints
    meta = read_meta(data_dir)
    data = load_gan_data(cfg, kind, data_dir)
    world = init_world(resolve_device(cfg.device))
    device = local_device(resolve_device(cfg.device), world)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    bf16 = bf16_autocast(device, cfg.amp)  # a checkpoint resumes only in the precision it was trained in
    checkpoint = Checkpointer(checkpoint_dir / f"{name}.ckpt", fingerprint([flatten(cfg, name), params.seed, meta, world.size, bf16]),
                              cfg.checkpoint_every)
    if not world.is_main:
        train_gan(kind, cfg, data, device, params.seed, checkpoint=checkpoint, world=world)
        barrier(world)
        shutdown(world)
        return

    evaluator = Evaluator(evaluator_dir, device)
    real_features = evaluator.features(load_split(data_dir, "test").images)
    net_cfg = gan_config(cfg, kind, data.n_classes)
    fixed = sample_latent(net_cfg, cfg.eval_samples, torch.Generator().manual_seed(params.seed + 1)).vector

    def quality_score(G: Generator) -> float:
        was_training = G.training
        G.eval()
        score = frechet_distance(evaluator.features(generate_images(G, fixed)), real_features)
        G.train(was_training)
        return score

    run_id = checkpoint.peek_extra().get("run_id") or start_model_run(
        params, name, {**flatten(cfg, name), "data.name": meta["name"], "data.source": meta["source"], "world_size": world.size,
                       "bf16_autocast": bf16},
        tags={"gan.kind": kind},
    )
    run = ModelRun(run_id)
    try:
        G, curves, summary = train_gan(kind, cfg, data, device, params.seed, MetricBuffer(run, params.tracking.log_every),
                                       checkpoint.with_extra(run_id=run_id), quality_score, world)
        with atomic_dir(out_dir) as tmp:
            save_weights(G, G.cfg.to_dict(), tmp, GENERATOR)
            curves.to_csv(tmp / "curves.csv", index=False)
            write_json(tmp / "training_summary.json", summary)
            write_run_file(tmp, run_id, name)
    except PipelineError:
        run.fail()
        raise
    finally:
        barrier(world)
        shutdown(world)
    checkpoint.remove()
    columns = [c for c in ("loss_d", "loss_g", "d_real", "d_fake", "loss_aux_fake", "loss_info") if c in curves]
    run.log_figure(learning_curves(curves, columns, f"{name} training"), "curves/training.png")
    if "train_fd_classifier" in curves:
        scored = curves.dropna(subset=["train_fd_classifier"])
        run.log_figure(learning_curves(scored, ["train_fd_classifier"], f"{name}: fd_classifier during training"), "curves/quality.png")
    run.log_file(out_dir / "curves.csv", "curves")
    run.log_metrics({k: v for k, v in summary.items() if v is not None})
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


def load_generator(model_dir: Path, device: torch.device) -> Generator:
    G = Generator(GANConfig(**load_config(model_dir, GENERATOR)))
    return load_weights(G, model_dir, GENERATOR).to(device).eval()


def _save_pngs(images: np.ndarray, folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i, image in enumerate(images):
        names.append(f"{i:06d}.png")
        Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(folder / names[-1])
    return names


def generate(params: Params, name: str, paths: StagePaths) -> None:
    """Sample grids plus ``n_generate`` PNGs from fixed seeds (with their intended labels for ACGAN)."""
    cfg, kind = _section(params, name)
    model_dir, out_dir = paths.model, paths.out
    device = resolve_device(cfg.device)
    G = load_generator(model_dir, device)
    net_cfg = G.cfg
    seeded = torch.Generator().manual_seed(params.seed)
    with atomic_dir(out_dir) as tmp:
        # The evaluated set: latent i is drawn from seed (seed, i) order, the same for every run.
        latent = sample_latent(net_cfg, cfg.n_generate, torch.Generator().manual_seed(params.seed + 2))
        names = _save_pngs(generate_images(G, latent.vector), tmp / "images")
        table = {"image_id": names}
        if kind == "acgan":
            column = "label" if cfg.condition == "label" else cfg.condition
            table[column] = latent.classes.numpy()
        pd.DataFrame(table).to_csv(tmp / "images.csv", index=False)
        save_grid(_to_uint8_grid(generate_images(G, sample_latent(net_cfg, 32, seeded).vector)), tmp / "samples.png", nrow=8)
        if kind == "acgan" and net_cfg.n_classes == 2:
            # 10 pairs: the same z with the attribute off (top row) and on (bottom row).
            z = sample_latent(net_cfg, 10, seeded, classes=torch.zeros(10, dtype=torch.long))
            on = z.vector.clone()
            on[:, net_cfg.nz:net_cfg.nz + 2] = torch.tensor([0.0, 1.0])
            pairs = np.concatenate([generate_images(G, z.vector), generate_images(G, on)])
            save_grid(_to_uint8_grid(pairs), tmp / "pairs.png", nrow=10)
        elif kind == "acgan":
            # 10x10: row k holds 10 samples of class k.
            classes = torch.arange(net_cfg.n_classes).repeat_interleave(10)
            grid = generate_images(G, sample_latent(net_cfg, len(classes), seeded, classes=classes).vector)
            save_grid(_to_uint8_grid(grid), tmp / "class_grid.png", nrow=10)
        if kind == "infogan":
            _traversals(G, net_cfg, seeded, tmp)
    run = model_run(model_dir, "generate")
    for png in sorted(out_dir.glob("*.png")):
        run.log_file(png, "generated")


def _traversals(G: Generator, net_cfg: GANConfig, seeded: torch.Generator, out: Path) -> None:
    """One grid per code: one row per code value, the same 10 noise vectors in every row."""
    n_cols = 10
    base = sample_latent(net_cfg, n_cols, seeded)
    if net_cfg.n_categorical:
        rows = []
        for value in range(net_cfg.n_categorical):
            cat = torch.full((n_cols,), value, dtype=torch.long)
            latent = sample_latent(net_cfg, n_cols, seeded, categorical=cat, continuous=base.continuous)
            latent.vector[:, : net_cfg.nz] = base.vector[:, : net_cfg.nz]
            rows.append(generate_images(G, latent.vector))
        save_grid(_to_uint8_grid(np.concatenate(rows)), out / "traversal_categorical.png", nrow=n_cols)
    for code in range(net_cfg.n_continuous):
        rows = []
        for value in np.linspace(-1, 1, 7):
            continuous = base.continuous.clone() if base.continuous is not None else None
            continuous[:, code] = float(value)
            latent = sample_latent(net_cfg, n_cols, seeded, categorical=base.categorical, continuous=continuous)
            latent.vector[:, : net_cfg.nz] = base.vector[:, : net_cfg.nz]
            rows.append(generate_images(G, latent.vector))
        save_grid(_to_uint8_grid(np.concatenate(rows)), out / f"traversal_continuous_{code}.png", nrow=n_cols)


def evaluate(params: Params, name: str, paths: StagePaths) -> dict:
    """fd_classifier of the generated set against the test split; ACGAN: accuracy of the evaluator
    on generated images against their intended class/attribute. The evaluator's own test accuracy
    is recorded beside them."""
    cfg, kind = _section(params, name)
    generated_dir, data_dir, evaluator_dir, model_dir, out_file = paths.generated, paths.data, paths.evaluator, paths.model, paths.out
    device = resolve_device(cfg.device)
    evaluator = Evaluator(evaluator_dir, device)
    table = pd.read_csv(generated_dir / "images.csv")
    generated = read_images([generated_dir / "images" / n for n in table["image_id"]], "RGB" if cfg.channels == 3 else "L")
    test = load_split(data_dir, "test")
    metrics = {
        "fd_classifier": frechet_distance(evaluator.features(generated), evaluator.features(test.images)),
        "generated_n": len(generated),
        "real_test_n": len(test.images),
    }
    ref_pool, ref_info = read_reference(paths.reference)
    if ref_pool is not None:
        weights, _ = resolve_inception(params.evaluate)
        if weights is None:
            raise PipelineError("inception reference features exist but the Inception weights are gone; rerun inception-reference")
        rgb = generated if generated.shape[-1] == 3 else np.repeat(generated, 3, axis=-1)
        gen_pool, gen_logits = InceptionFeatures(weights, device, params.evaluate.batch_size)(rgb)
        metrics.update(inception_metrics(gen_pool, gen_logits, ref_pool))
        metrics["inception_available"] = 1
    else:
        metrics["inception_available"] = 0  # FID, IS, KID, precision/recall not computed: see the run's tag
    trust = evaluator.info["test_metrics"]
    if kind == "acgan":
        predicted = evaluator.predict(generated)
        if cfg.condition == "label":
            metrics["intended_accuracy"] = float((predicted == table["label"].to_numpy()).mean())
            metrics["evaluator_test_accuracy"] = trust["test_accuracy"]
        else:
            column = evaluator.output_index(cfg.condition)
            metrics["intended_accuracy"] = float((predicted[:, column] == table[cfg.condition].to_numpy()).mean())
            metrics["evaluator_test_accuracy"] = trust[f"test_accuracy.{cfg.condition}"]
    write_json(out_file, metrics)
    run = model_run(model_dir, "evaluate")
    run.log_metrics(metrics)
    run.set_tags({"inception.protocol": (f"FID (pytorch-fid formula) / IS / KID / precision-recall (torch-fidelity), pytorch-fid "
                                         f"Inception pool + unbiased logits, {len(generated)} generated vs "
                                         f"{ref_info.get('n')} test images")
                  if ref_pool is not None else f"unavailable: {ref_info['reason']}"})
    run.set_tags({"fd_classifier.protocol": f"Frechet distance in the {evaluator.info['dataset']} evaluator classifier's "
                  f"feature space, {len(generated)} generated vs {len(test.images)} test images (not FID)"})
    return metrics


def training_summary(model_dir: Path) -> dict:
    return json.loads((Path(model_dir) / "training_summary.json").read_text())
