"""Train, generate and evaluate steps shared by the DCGAN family (dcgan, acgan_faces, acgan_digits, infogan).

Every model samples from its best-scoring EMA generator. The cheap quality score used during
training is ``fd_classifier``: the Frechet distance between generated and real images in the feature
space of the dataset's evaluator classifier (not FID), against the validation split while training
(to choose the checkpoint) and against the test split in evaluate (the reported number).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from genadapt.data.image_files import read_images
from genadapt.data.prepared import load_split, read_meta
from genadapt.data.transforms import to_common_format
from genadapt.distributed import barrier, init_world, local_device, shutdown
from genadapt.errors import PipelineError
from genadapt.evaluator import Evaluator
from genadapt.families import StagePaths, instance_paths
from genadapt.families.gan.kinds import get_kind
from genadapt.families.gan.latent import generate_images, sample_latent
from genadapt.families.gan.model import GANConfig, Generator
from genadapt.families.gan.params import GANParams
from genadapt.families.gan.training import GANData, train_gan
from genadapt.figures import learning_curves, save_grid, uint8_batch
from genadapt.metrics.frechet import frechet_distance
from genadapt.metrics.inception import inception_metrics
from genadapt.metrics.inception_reference import check_same_weights, feature_extractor, read_reference, resolve_inception
from genadapt.outputs import atomic_dir, atomic_file, write_json
from genadapt.params import Params, flatten
from genadapt.runtime import bf16_autocast, resolve_device
from genadapt.sections import Headline, Section, png_of_figure
from genadapt.tracking import (
    MetricBuffer,
    ModelRun,
    log_data_inputs,
    model_run,
    resume_or_start_run,
    start_model_run,
    write_run_file,
)
from genadapt.training.checkpointing import Checkpointer, fingerprint
from genadapt.weights import load_config, load_weights, save_weights

GENERATOR = "generator"
ARTEFACTS = {
    "train": ("generator.safetensors", "generator.json", "training_summary.json", "mlflow_run.json"),
    "generate": ("images/", "images.csv", "samples.png"),  # plus the kind's figures (GANKind.figures)
    "evaluate": ("fd_classifier", "generated_n", "real_test_n", "inception_available"),  # plus the kind's metrics
}


def _instance(params: Params, name: str) -> GANParams:
    family, cfg = params.instance(name)
    if family != "gan":
        raise PipelineError(f"model {name!r} is a {family}, not a GAN")
    return cfg


def load_gan_data(cfg: GANParams, data_dir: Path, split: str = "train") -> GANData:
    """The split at the GAN's size and channels, with the kind's conditions (ACGAN: attribute 0/1 or digit label)."""
    prepared = load_split(data_dir, split)
    images = to_common_format(prepared.images, cfg.image_size, cfg.channels)
    conditions, n_classes = get_kind(cfg.kind).conditions(cfg, prepared)
    return GANData(images, conditions, n_classes)


def train(params: Params, name: str, paths: StagePaths) -> None:
    """Train one GAN. Under ``torchrun`` every rank trains; rank 0 alone logs, checkpoints and writes outputs."""
    cfg = _instance(params, name)
    kind = get_kind(cfg.kind)
    data_dir, evaluator_dir, out_dir, checkpoint_dir = paths.data, paths.evaluator, paths.out, paths.checkpoints
    meta = read_meta(data_dir)
    data = load_gan_data(cfg, data_dir)
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
    # The best generator is chosen against the validation split; the test split is for evaluate only.
    val_features = evaluator.features(load_split(data_dir, "val").images)
    net_cfg = kind.net_config(cfg, data.n_classes)
    fixed = sample_latent(net_cfg, cfg.eval_samples, torch.Generator().manual_seed(params.seed + 1)).vector

    def quality_score(G: Generator) -> float:
        was_training = G.training
        G.eval()
        score = frechet_distance(evaluator.features(generate_images(G, fixed)), val_features)
        G.train(was_training)
        return score

    run = resume_or_start_run(checkpoint.peek_extra().get("run_id"), checkpoint.peek_step(), lambda: start_model_run(
        params, name, {**flatten(cfg, name), "data.name": meta["name"], "data.source": meta["source"], "world_size": world.size,
                       "bf16_autocast": bf16},
        tags={"gan.kind": kind.name}))
    with run.failing_on_error():
        log_data_inputs(run, {"training": data_dir})
        try:
            G, curves, summary = train_gan(kind, cfg, data, device, params.seed, MetricBuffer(run, params.tracking.log_every),
                                           checkpoint.with_extra(run_id=run.run_id), quality_score, world)
            with atomic_dir(out_dir) as tmp:
                save_weights(G, G.cfg.to_dict(), tmp, GENERATOR)
                write_json(tmp / "training_summary.json", summary)
                write_run_file(tmp, run.run_id, name)
            with atomic_file(paths.curves) as tmp:
                curves.to_csv(tmp, index=False)
        finally:
            barrier(world)
            shutdown(world)
        checkpoint.remove()
        columns = [c for c in kind.loss_columns if c in curves]
        run.log_figure(learning_curves(curves, columns, f"{name} training"), "curves/training.png")
        if "val_fd_classifier" in curves:
            scored = curves.dropna(subset=["val_fd_classifier"])
            run.log_figure(learning_curves(scored, ["val_fd_classifier"], f"{name}: fd_classifier on the validation split during training"),
                           "curves/quality.png")
        run.log_file(paths.curves, "curves")
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
    cfg = _instance(params, name)
    kind = get_kind(cfg.kind)
    model_dir, out_dir = paths.model, paths.out
    device = resolve_device(cfg.device)
    G = load_generator(model_dir, device)
    net_cfg = G.cfg
    seeded = torch.Generator().manual_seed(params.seed)
    with atomic_dir(out_dir) as tmp:
        # The evaluated set: latent i is drawn from seed (seed, i) order, the same for every run.
        latent = sample_latent(net_cfg, cfg.n_generate, torch.Generator().manual_seed(params.seed + 2))
        names = _save_pngs(generate_images(G, latent.vector), tmp / "images")
        pd.DataFrame({"image_id": names, **kind.generated_columns(cfg, latent)}).to_csv(tmp / "images.csv", index=False)
        save_grid(uint8_batch(generate_images(G, sample_latent(net_cfg, 32, seeded).vector)), tmp / "samples.png", nrow=8)
        kind.extra_figures(G, cfg, seeded, tmp)
    run = model_run(model_dir, "generate")
    for png in sorted(out_dir.glob("*.png")):
        run.log_file(png, "generated")


def evaluate(params: Params, name: str, paths: StagePaths) -> dict:
    """fd_classifier of the generated set against the test split; ACGAN: accuracy of the evaluator
    on generated images against their intended class/attribute. The evaluator's own test accuracy
    is recorded beside them."""
    cfg = _instance(params, name)
    kind = get_kind(cfg.kind)
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
        weights = check_same_weights(resolve_inception(params.evaluate)[0], ref_info, paths.reference)
        rgb = generated if generated.shape[-1] == 3 else np.repeat(generated, 3, axis=-1)
        gen_pool, gen_logits = feature_extractor(params.evaluate, weights)(rgb)
        metrics.update(inception_metrics(gen_pool, gen_logits, ref_pool, params.evaluate.kid_subset_size))
        metrics["inception_available"] = 1
    else:
        metrics["inception_available"] = 0  # FID, IS, KID, precision/recall not computed: see the run's tag
    metrics.update(kind.extra_metrics(cfg, evaluator, generated, table))
    write_json(out_file, metrics)
    run = model_run(model_dir, "evaluate")
    run.log_metrics(metrics)
    run.set_tags({"inception.protocol": inception_protocol(metrics, ref_info)})
    run.set_tags({"fd_classifier.protocol": f"Frechet distance in the {evaluator.info['dataset']} evaluator classifier's "
                  f"feature space, {len(generated)} generated vs {len(test.images)} test images (not FID)"})
    return metrics


def inception_protocol(metrics: dict, ref_info: dict) -> str:
    """How the Inception metrics were obtained (or why not), in one line for the run's tag and the report."""
    if not metrics["inception_available"]:
        return f"unavailable: {ref_info['reason']}"
    weights = ref_info["weights"]
    score = "IS from the logits head" if metrics["is_available"] else "no IS (these weights have no logits head)"
    return (f"FID (pytorch-fid formula), KID ({metrics['kid_subset_size']}-image subsets) and precision/recall "
            f"(torch-fidelity) on FID Inception pool features ({weights['format']}, {weights['digest'][:14]}, "
            f"{'bf16' if ref_info.get('bf16') else 'float32'}; pytorch-fid preprocessing), {metrics['generated_n']} generated vs "
            f"{ref_info['n']} {ref_info['split']} images; {score}")


# The course reports' figures for the same task (real data, full size, GPU), shown beside ours.
COURSE_FIGURES = {
    ("dcgan", "faces", "FID"): "29.73 (IS 2.08; real CelebA, 1000 images, report 001)",
    ("acgan", "mnistm", "intended accuracy"): "0.903 (real digits, report 001)",
}


def headlines(params: Params, name: str, cfg: GANParams, metrics: dict) -> list[Headline]:
    """The summary rows of one GAN: FID and KID (when the weights exist), fd_classifier, and the
    intended accuracy of a conditional GAN, each with its N and uncertainty."""
    task = f"{cfg.kind.upper()}, {cfg.dataset} ({params.data.get(cfg.dataset).source})"
    sets = f"{metrics['generated_n']} generated vs {metrics['real_test_n']} test"
    rows = []
    if metrics.get("inception_available"):
        course = COURSE_FIGURES.get((cfg.kind, cfg.dataset, "FID"), "")
        rows.append(Headline(name, task, "FID", f"{metrics['fid']:.2f}", sets, course=course))
        rows.append(Headline(name, task, "KID", f"{metrics['kid_mean']:.4f}", sets,
                             f"± {metrics['kid_std']:.4f} (std over 100 subsets of {metrics['kid_subset_size']})"))
    rows.append(Headline(name, task, "fd_classifier (not FID)", f"{metrics['fd_classifier']:.2f}", sets))
    if "intended_accuracy" in metrics:
        rows.append(Headline(name, task, "intended accuracy", f"{metrics['intended_accuracy']:.3f}",
                             f"{metrics['intended_accuracy_n']} generated",
                             f"95% CI [{metrics['intended_accuracy_ci_low']:.3f}, {metrics['intended_accuracy_ci_high']:.3f}]",
                             COURSE_FIGURES.get((cfg.kind, cfg.dataset, "intended accuracy"), "")))
    return rows


def training_summary(model_dir: Path) -> dict:
    return json.loads((Path(model_dir) / "training_summary.json").read_text())


def report_section(params: Params, name: str) -> Section:
    """Metrics with their protocol, learning curves, the quality curve and the kind's figures."""
    cfg = _instance(params, name)
    kind = get_kind(cfg.kind)
    paths = instance_paths("gan", name, cfg.dataset)
    metrics = json.loads(paths.out.read_text())
    curves = pd.read_csv(paths.curves)
    G = load_generator(paths.model, torch.device("cpu"))
    summary = training_summary(paths.model)
    notes = {
        "fd_classifier": f"Frechet distance in the {cfg.dataset} evaluator classifier's feature space, "
                         f"{metrics['generated_n']} generated vs {metrics['real_test_n']} test images (lower is better; not FID)",
        **kind.metric_notes(cfg),
    }
    loss_columns = [c for c in kind.loss_columns if c in curves]
    figures = [(f"{name} learning curves", png_of_figure(learning_curves(curves, loss_columns, f"{name} training")))]
    if "val_fd_classifier" in curves:
        scored = curves.dropna(subset=["val_fd_classifier"])
        figures.append((f"fd_classifier of the EMA generator against the validation split during training "
                        f"(best at step {summary['best_step']})",
                        png_of_figure(learning_curves(scored, ["val_fd_classifier"], "quality during training"))))
    for file, caption in kind.figures.items():
        if (paths.generated / file).exists():
            figures.append((caption, (paths.generated / file).read_bytes()))
    rows = headlines(params, name, cfg, metrics)
    return Section(
        title=f"{name} ({cfg.kind}, {cfg.dataset}, {cfg.image_size}x{cfg.image_size})",
        params=flatten(cfg, name),
        metrics=metrics,
        metric_notes=notes,
        architecture=f"{G}\n\n{sum(p.numel() for p in G.parameters()):,} generator parameters",
        figures=figures,
        headlines=rows,
        thumbnails={rows[0].task: (paths.generated / "samples.png").read_bytes()},
    )
