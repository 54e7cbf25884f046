"""DVC stage train-adapt@<pair> (and train-pixel@<pair>): every method of one domain pair trained,
tested on the target, t-SNE plotted.

With a translator (a trained CycleGAN: the ``pixel`` family), the source's training images are
translated into the target's style and keep their source labels; the instance's modes
(``families/pixel/shared/params.py``) train on them. With ``with_source`` the untranslated source images join
them, as in PixelDA, and with ``invert_source`` the translations' negatives, as the source's do in the
other modes: a translator maps each digit to one style and one polarity, and MNIST-M and SVHN show many
and both. A mode with ``warm_start_from`` (CyCADA's order) starts from that mode's same-seed network."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from genadapt.core.errors import PipelineError
from genadapt.core.outputs import atomic_dir, write_json
from genadapt.core.params import Params, flatten
from genadapt.core.registry import StagePaths
from genadapt.core.runtime import resolve_device
from genadapt.core.tracking import MetricBuffer, ModelRun, log_data_inputs
from genadapt.core.weights import load_config, load_weights, save_weights
from genadapt.data.format.prepared import load_split
from genadapt.data.format.transforms import to_common_format
from genadapt.families.adapt.shared.loop import SELECTIONS, Domain, PairData, accuracy, features_and_predictions, train_mode
from genadapt.families.adapt.shared.method import get_method
from genadapt.families.adapt.shared.network import DANN, DANNConfig
from genadapt.families.adapt.shared.params import AdaptParams
from genadapt.figures import plt
from genadapt.metrics.intervals import mean_std
from genadapt.metrics.tsne import tsne_2d, tsne_figure
from genadapt.training.checkpointing import Checkpointer, fingerprint
from genadapt.training.session import Plot, log_plots, open_training_run

TSNE_MODES = ("source_only", "dann", "pixel_st")  # the before/after view of alignment


def load_domain(cfg: AdaptParams, prepared: Path, split: str) -> Domain:
    """One split of a prepared dataset in the pair's common size and channel count."""
    loaded = load_split(prepared, split)
    return Domain(to_common_format(loaded.images, cfg.image_size, cfg.channels), loaded.labels)


def load_pair(cfg: AdaptParams, paths: StagePaths) -> PairData:
    """What training sees: the source's train split (paths.data), the target's train and validation splits (paths.data_b)."""
    source_train = load_domain(cfg, paths.data, "train")
    if cfg.invert_source:
        # MNIST and USPS draw every digit in one polarity; MNIST-M and SVHN show both. Adding the
        # negatives (2N images) keeps the classifier from tying digits to one polarity, a bias
        # that aligning features does not undo.
        source_train = Domain(np.concatenate([source_train.images, 255 - source_train.images]),
                              np.concatenate([source_train.labels, source_train.labels]))
    return PairData(source_train, load_domain(cfg, paths.data_b, "train"), load_domain(cfg, paths.data_b, "val"))


def translate_source(params: Params, name: str, paths: StagePaths, device: torch.device) -> Domain:
    """The pair's source train split translated into the target's style by the CycleGAN saved in
    ``paths.translator`` (the models.cyclegan instance the pair names), in the pair's common format."""
    from genadapt.families.cyclegan.shared.stored import load_translators
    from genadapt.families.cyclegan.shared.training import translate

    family, cfg = params.instance(name)
    where = f"models.{family}.{name}.translator"
    if paths.translator.name != cfg.translator:
        raise PipelineError(f"{paths.translator}: not {where} ({cfg.translator})")
    translator_family, cyc = params.instance(cfg.translator)
    if translator_family != "cyclegan":
        raise PipelineError(f"{where}: {cfg.translator!r} is a {translator_family} model, not a cyclegan")
    directions = {(cyc.source, cyc.target): "a_to_b", (cyc.target, cyc.source): "b_to_a"}
    if (cfg.source, cfg.target) not in directions:
        raise PipelineError(f"{where}: {cfg.translator} translates {cyc.source} <-> {cyc.target}, "
                            f"not {cfg.source} -> {cfg.target}")
    G = getattr(load_translators(paths.translator, device), directions[cfg.source, cfg.target])
    prepared = load_split(paths.data, "train")
    translated = translate(G, to_common_format(prepared.images, cyc.image_size, cyc.channels))  # (N, S_cyc, S_cyc, C_cyc)
    images = to_common_format(translated, cfg.image_size, cfg.channels)  # (N, S, S, C) uint8
    if cfg.invert_source:  # (2N, S, S, C): the translations in both polarities
        return Domain(np.concatenate([images, 255 - images]), np.concatenate([prepared.labels, prepared.labels]))
    return Domain(images, prepared.labels)


def _run_params(cfg: AdaptParams, name: str, family: str, mode: str, seed: int) -> dict:
    flat = {k: v for k, v in flatten(cfg, name).items() if k != f"{name}.methods"}
    return {**flat, "seed": seed, "adapt.family": family, "adapt.mode": mode, "adapt.method": cfg.mode(mode).method}


def _weights_params(run_params: dict, cfg: AdaptParams, name: str, mode: str) -> dict:
    """The part of ``run_params`` that decides one mode's trained weights: not how many seeds train
    beside it, how many points its t-SNE plots, nor the settings of the pair's other methods, so
    adding a seed or a method, or tuning another one, reuses every model already finished."""
    dropped = {f"{name}.seeds", f"{name}.tsne_points", f"{name}.settings"}
    kept = {k: v for k, v in run_params.items() if k not in dropped}
    return kept | {"method_settings": cfg.settings.get(cfg.mode(mode).method, {})}


def model_name(mode: str, seed_index: int, seed: int) -> str:
    """File stem of one trained model: the mode for the first seed (the one plotted), mode.seed<k> for the others."""
    return mode if seed_index == 0 else f"{mode}.seed{seed}"


def _weights_digest(model: DANN) -> str:
    return hashlib.sha1(b"".join(t.detach().cpu().numpy().tobytes() for t in model.state_dict().values())).hexdigest()


def _train_or_reuse(params: Params, name: str, mode: str, seed: int, stem: str, data: PairData, device,
                    checkpoint_dir: Path, inputs: dict[str, Path], init: DANN | None = None) -> tuple[dict[str, DANN], str, dict[str, int]]:
    """Train one mode with one seed (from ``init``'s weights when given), or reuse it when an
    interrupted stage run had already finished it.
    Returns the network of each selection rule (SELECTIONS), its MLflow run id and the step each rule kept."""
    family, cfg = params.instance(name)
    run_params = _run_params(cfg, name, family, mode, seed)
    # The images' content, not only their shapes: a retrained translator or re-prepared data gives
    # other images of the same shape, and a model finished on the old ones must not be reused.
    content = [hashlib.sha1(d.images.tobytes()).hexdigest() for d in (data.source_train, data.target_train)]
    if init is not None:  # nor one started from other weights
        content.append(_weights_digest(init))
    shapes = [data.source_train.images.shape, data.target_train.images.shape]
    fp = fingerprint(_weights_params(run_params, cfg, name, mode) | {"shapes": shapes, "content": content})
    done_file = checkpoint_dir / f"{stem}.done.json"
    if done_file.exists() and json.loads(done_file.read_text())["fingerprint"] == fp:
        done = json.loads(done_file.read_text())
        chosen = {rule: load_weights(DANN(DANNConfig(**load_config(checkpoint_dir, f"{stem}.{rule}"))), checkpoint_dir,
                                     f"{stem}.{rule}").to(device).eval() for rule in SELECTIONS}
        return chosen, done["run_id"], done["steps"]
    checkpoint = Checkpointer(checkpoint_dir / f"{stem}.ckpt", fp, cfg.checkpoint_every)
    run = open_training_run(checkpoint, params, name, run_params, run_name=f"{name} {mode} seed {seed}",
                            tags={"adapt.pair": name, "adapt.mode": mode})
    with run.failing_on_error():
        log_data_inputs(run, inputs)
        _, curves, chosen = train_mode(cfg.mode(mode).method, cfg, data, device, seed, MetricBuffer(run, params.tracking.log_every),
                                       checkpoint.with_extra(run_id=run.run_id), cfg.class_balance, init)
        steps = dict.fromkeys(SELECTIONS, int(curves["step"].iloc[-1]))  # the last step: the method's own length
        if "val_accuracy" in curves:
            scored = curves.dropna(subset=["val_accuracy"])
            for rule, column in (("labelled", "val_accuracy"), ("unsupervised", "val_information")):
                steps[rule] = int(scored["step"][scored[column].idxmax()])  # the first best, as training kept
        log_plots(run, curves, [Plot(["loss_class", "loss_domain", "lr"], f"{mode} on {name}", f"curves/{mode}.png"),
                                Plot(["val_accuracy", "val_information"], f"{mode} on {name}: target validation (steps "
                                     f"{steps['labelled']} / {steps['unsupervised']} kept)", f"curves/{mode}_val.png", scored_rows=True)])
        run.log_metrics({"best_step": steps["labelled"], "unsupervised_step": steps["unsupervised"]})
        for rule, model in chosen.items():
            save_weights(model, model.cfg.to_dict(), checkpoint_dir, f"{stem}.{rule}")
        # atomic: a half-written marker never counts
        write_json(done_file, {"fingerprint": fp, "run_id": run.run_id, "steps": steps})
        checkpoint.remove()
    return chosen, run.run_id, steps


def train(params: Params, name: str, paths: StagePaths) -> dict:
    """Every mode of the instance's ``methods``, each seed, tested on the target once every choice is made."""
    family, cfg = params.instance(name)
    missing = [flag for flag, path in (("--data-b", paths.data_b), ("--out", paths.out), ("--metrics", paths.metrics),
                                       ("--generated", paths.generated), ("--checkpoints", paths.checkpoints)) if path is None]
    if (paths.translator is None) != (getattr(cfg, "translator", None) is None):  # pixel instances name a translator
        missing.append("--translator" if paths.translator is None else "no --translator")
    if missing:
        raise PipelineError(f"{name} (models.{family}): the stage needs {', '.join(missing)} (see dvc.yaml's train-{family})")
    for mode in cfg.methods:  # a bad settings entry is a one-line error before any work or MLflow run
        method = cfg.mode(mode).method
        try:
            get_method(method, cfg.settings.get(method))
        except PipelineError as exc:
            raise PipelineError(f"params.yaml: models.{family}.{name}.{exc}") from None
    data = load_pair(cfg, paths)
    device = resolve_device(cfg.device)
    if paths.translator is not None:
        source = translate_source(params, name, paths, device)  # (N or 2N, S, S, C)
        if cfg.with_source:  # translations first, then the source as load_pair gives it
            source = Domain(np.concatenate([source.images, data.source_train.images]),
                            np.concatenate([source.labels, data.source_train.labels]))
        data = PairData(source, data.target_train, data.target_val)
    checkpoint_dir = paths.checkpoints
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    seeds = [params.seed + i for i in range(cfg.seeds)]
    stems = {(mode, seed): model_name(mode, i, seed) for mode in cfg.methods for i, seed in enumerate(seeds)}
    val_results, run_ids, chosen, steps = {}, {}, {}, {}
    inputs = {"source": paths.data, "target": paths.data_b}
    val_labelled = Domain(data.target_val.images[:cfg.val_labels], data.target_val.labels[:cfg.val_labels])
    for (mode, seed), stem in stems.items():  # mode by mode: a warm start's models exist before it starts
        start_from = cfg.mode(mode).warm_start_from
        init = chosen[stems[start_from, seed]]["labelled"] if start_from else None
        chosen[stem], run_ids[stem], steps[stem] = _train_or_reuse(params, name, mode, seed, stem, data, device,
                                                                   checkpoint_dir, inputs, init)
        val_results[stem] = accuracy(chosen[stem]["labelled"], val_labelled)
    models = {stem: by_rule["labelled"] for stem, by_rule in chosen.items()}  # saved, plotted, the table's headline
    # Every mode is trained and every choice made: now the test splits are read, once.
    source_test = load_domain(cfg, paths.data, "test")
    target_test = load_domain(cfg, paths.data_b, "test")
    results = {(stem, rule): accuracy(model, target_test) for stem, by_rule in chosen.items() for rule, model in by_rule.items()}
    for stem in stems.values():
        ModelRun(run_ids[stem]).log_metrics({"target_test_accuracy": results[stem, "labelled"],
                                             "target_test_accuracy_last": results[stem, "last"],
                                             "target_test_accuracy_unsupervised": results[stem, "unsupervised"],
                                             "target_val_accuracy": val_results[stem]})
    metrics = {"target_test_n": len(target_test.labels), "target_val_n": len(val_labelled.labels),
               "target_val_unlabelled_n": len(data.target_val.labels), "seeds": len(seeds),
               "source": cfg.source, "target": cfg.target}
    metrics |= {f"best_step.{stem}": step["labelled"] for stem, step in steps.items()}  # chosen on labelled validation
    metrics |= {f"unsupervised_step.{stem}": step["unsupervised"] for stem, step in steps.items()}
    for mode in cfg.methods:  # mean (and std) over the seeds; each seed's figure too when there are several
        mode_stems = [stems[mode, seed] for seed in seeds]
        metrics[mode], metrics[f"{mode}.std"] = mean_std([results[s, "labelled"] for s in mode_stems])
        for rule in ("last", "unsupervised"):
            metrics[f"{mode}.{rule}"], metrics[f"{mode}.{rule}.std"] = mean_std([results[s, rule] for s in mode_stems])
        metrics[f"val.{mode}"], metrics[f"val.{mode}.std"] = mean_std([val_results[s] for s in mode_stems])
        if len(seeds) > 1:
            metrics |= {f"{mode}.seed{seed}": results[stems[mode, seed], "labelled"] for seed in seeds}

    rng = np.random.default_rng(params.seed)
    n = min(cfg.tsne_points, len(source_test.labels), len(target_test.labels))
    src_idx = rng.choice(len(source_test.labels), n, replace=False)
    tgt_idx = rng.choice(len(target_test.labels), n, replace=False)
    images = np.concatenate([source_test.images[src_idx], target_test.images[tgt_idx]])
    classes = np.concatenate([source_test.labels[src_idx], target_test.labels[tgt_idx]])
    domains = np.repeat([0, 1], n)
    with atomic_dir(paths.generated) as figures_tmp, atomic_dir(paths.out) as models_tmp:
        for stem, model in models.items():
            save_weights(model, model.cfg.to_dict(), models_tmp, stem)
        for mode in [m for m in cfg.methods if m in TSNE_MODES]:  # the first seed's models
            points = tsne_2d(features_and_predictions(models[mode], images)[0], params.seed)
            title = f"{mode}: {cfg.source} (source) -> {cfg.target} (target), t-SNE of {n}+{n} test features"
            fig = tsne_figure(points, classes, domains, (cfg.source, cfg.target), title)
            fig.savefig(figures_tmp / f"tsne_{mode}.png", dpi=90)
            ModelRun(run_ids[mode]).log_figure(fig, f"tsne/tsne_{mode}.png")
            plt.close(fig)
        (models_tmp / "mlflow_runs.json").write_text(json.dumps(run_ids, indent=2) + "\n")
    write_json(paths.metrics, metrics)
    for run_id in run_ids.values():
        ModelRun(run_id).finish()
    for stale in checkpoint_dir.glob("*"):
        stale.unlink()
    return metrics


def load_mode(models_dir: Path, mode: str, device: torch.device) -> DANN:
    model = DANN(DANNConfig(**load_config(models_dir, mode)))
    return load_weights(model, models_dir, mode).to(device).eval()
