"""The domain-adaptation study for one pair: every mode trained, tested on the target, t-SNE plotted.

With a translator (a trained CycleGAN, ``dann.pixel_pairs``), the pixel-level modes instead: the
source's training images are translated into the target's style and keep their source labels;
``pixel`` trains on them (as source_only does on the originals), ``pixel_st`` adds DANN and
self-training on the unlabelled target (as dann_st does), CyCADA's pixel + feature-level recipe.
With ``with_source`` the untranslated source images join them, as in PixelDA, and with
``invert_source`` the translations' negatives, as the source's do in the other modes: a translator
maps each digit to one style and one polarity, and MNIST-M and SVHN show many and both. With
``warm_start`` (CyCADA's order) each seed's pixel_st starts from that seed's trained pixel network."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from genadapt.adaptation import get_method
from genadapt.adaptation.loop import SELECTIONS, Domain, PairData, accuracy, features_and_predictions, train_mode
from genadapt.adaptation.network import DANN, DANNConfig
from genadapt.core.errors import PipelineError
from genadapt.core.outputs import atomic_dir, write_json
from genadapt.core.params import PIXEL_MODES, DANNParams, Params, flatten
from genadapt.core.runtime import resolve_device
from genadapt.core.tracking import MetricBuffer, ModelRun, log_data_inputs
from genadapt.core.weights import load_config, load_weights, save_weights
from genadapt.data.prepared import load_split
from genadapt.data.transforms import to_common_format
from genadapt.figures import plt
from genadapt.metrics.intervals import mean_std
from genadapt.metrics.tsne import tsne_2d, tsne_figure
from genadapt.training.checkpointing import Checkpointer, fingerprint
from genadapt.training.session import Plot, log_plots, open_training_run

TSNE_MODES = ("source_only", "dann", "pixel_st")  # the before/after view of alignment
PIXEL_OVERRIDES = ("width", "steps", "st_weight")  # dann settings a pixel pair may set for its own modes


def load_domain(params: Params, pair: str, prepared_root: Path, role: str, split: str) -> Domain:
    """One split of the pair's ``source`` or ``target`` in the pair's common size and channel count."""
    cfg, names = params.dann, params.dann.pairs[pair]
    prepared = load_split(prepared_root / getattr(names, role), split)
    return Domain(to_common_format(prepared.images, cfg.image_size, names.channels), prepared.labels)


def load_pair(params: Params, pair: str, prepared_root: Path) -> PairData:
    """What training sees: the source's train split, the target's train and validation splits."""
    if pair not in params.dann.pairs:
        raise PipelineError(f"unknown DANN pair {pair!r}; params.yaml dann.pairs has: {', '.join(params.dann.pairs)}")
    source_train = load_domain(params, pair, prepared_root, "source", "train")
    if params.dann.pairs[pair].invert_source:
        # MNIST and USPS draw every digit in one polarity; MNIST-M and SVHN show both. Adding the
        # negatives (2N images) keeps the classifier from tying digits to one polarity, a bias
        # that aligning features does not undo.
        source_train = Domain(np.concatenate([source_train.images, 255 - source_train.images]),
                              np.concatenate([source_train.labels, source_train.labels]))
    return PairData(source_train, load_domain(params, pair, prepared_root, "target", "train"),
                    load_domain(params, pair, prepared_root, "target", "val"))


def translate_source(params: Params, pair: str, prepared_root: Path, translator_dir: Path, device: torch.device) -> Domain:
    """The pair's source train split translated into the target's style by the CycleGAN saved in
    ``translator_dir`` (a models.cyclegan instance of that name), in the pair's common format."""
    from genadapt.families.cyclegan.stored import load_translators
    from genadapt.families.cyclegan.training import translate

    names, name = params.dann.pairs[pair], translator_dir.name
    if pair not in params.dann.pixel_pairs or params.dann.pixel_pairs[pair].translator != name:
        raise PipelineError(f"{translator_dir}: not the translator of dann.pixel_pairs.{pair}")
    family, cyc = params.instance(name)
    if family != "cyclegan":
        raise PipelineError(f"dann.pixel_pairs.{pair}: {name!r} is a {family} model, not a cyclegan")
    directions = {(cyc.source, cyc.target): "a_to_b", (cyc.target, cyc.source): "b_to_a"}
    if (names.source, names.target) not in directions:
        raise PipelineError(f"dann.pixel_pairs.{pair}: {name} translates {cyc.source} <-> {cyc.target}, "
                            f"not {names.source} -> {names.target}")
    G = getattr(load_translators(translator_dir, device), directions[names.source, names.target])
    prepared = load_split(prepared_root / names.source, "train")
    translated = translate(G, to_common_format(prepared.images, cyc.image_size, cyc.channels))  # (N, S_cyc, S_cyc, C_cyc)
    images = to_common_format(translated, params.dann.image_size, names.channels)  # (N, S, S, C) uint8
    if names.invert_source:  # (2N, S, S, C): the translations in both polarities
        return Domain(np.concatenate([images, 255 - images]), np.concatenate([prepared.labels, prepared.labels]))
    return Domain(images, prepared.labels)


def class_balance(params: Params, pair: str, mode: str) -> float:
    """The weight of the class-balance term for one mode: a pixel pair's own when it sets one."""
    pixel = params.dann.pixel_pairs.get(pair)
    if mode in PIXEL_MODES and pixel.class_balance is not None:
        return pixel.class_balance
    return params.dann.pairs[pair].class_balance


def mode_config(params: Params, pair: str, mode: str) -> DANNParams:
    """dann's settings for one mode of one pair: a pixel pair's own width, steps and st_weight when it sets them."""
    if mode not in PIXEL_MODES:
        return params.dann
    pixel = params.dann.pixel_pairs[pair]
    own = {key: getattr(pixel, key) for key in PIXEL_OVERRIDES if getattr(pixel, key) is not None}
    return params.dann.model_copy(update=own)


def _run_params(params: Params, pair: str, mode: str, seed: int) -> dict:
    names = params.dann.pairs[pair]
    cfg = mode_config(params, pair, mode)
    flat = {k: v for k, v in flatten(cfg, "dann").items() if k not in ("dann.pairs", "dann.modes", "dann.pixel_pairs")}
    if mode in PIXEL_MODES:
        flat["dann.translator"] = params.dann.pixel_pairs[pair].translator
        flat["dann.with_source"] = params.dann.pixel_pairs[pair].with_source
        if PIXEL_MODES[mode].warm_start_from:
            flat["dann.warm_start"] = params.dann.pixel_pairs[pair].warm_start
    return {**flat, "seed": seed, "dann.pair": pair, "dann.source": names.source,
            "dann.target": names.target, "dann.channels": names.channels,
            "dann.invert_source": names.invert_source, "dann.class_balance": class_balance(params, pair, mode), "dann.mode": mode}


def model_name(mode: str, seed_index: int, seed: int) -> str:
    """File stem of one trained model: the mode for the first seed (the one plotted), mode.seed<k> for the others."""
    return mode if seed_index == 0 else f"{mode}.seed{seed}"


def _weights_digest(model: DANN) -> str:
    return hashlib.sha1(b"".join(t.detach().cpu().numpy().tobytes() for t in model.state_dict().values())).hexdigest()


def _train_or_reuse(params, pair, mode, seed: int, stem: str, data, device, checkpoint_dir: Path,
                    inputs: dict[str, Path], init: DANN | None = None) -> tuple[dict[str, DANN], str, dict[str, int]]:
    """Train one mode with one seed (from ``init``'s weights when given), or reuse it when an
    interrupted stage run had already finished it.
    Returns the network of each selection rule (SELECTIONS), its MLflow run id and the step each rule kept."""
    cfg = mode_config(params, pair, mode)
    run_params = _run_params(params, pair, mode, seed)
    # The images' content, not only their shapes: a retrained translator or re-prepared data gives
    # other images of the same shape, and a model finished on the old ones must not be reused.
    content = [hashlib.sha1(d.images.tobytes()).hexdigest() for d in (data.source_train, data.target_train)]
    if init is not None:  # nor one started from other weights
        content.append(_weights_digest(init))
    fp = fingerprint(run_params | {"shapes": [data.source_train.images.shape, data.target_train.images.shape], "content": content})
    done_file = checkpoint_dir / f"{stem}.done.json"
    if done_file.exists() and json.loads(done_file.read_text())["fingerprint"] == fp:
        done = json.loads(done_file.read_text())
        chosen = {rule: load_weights(DANN(DANNConfig(**load_config(checkpoint_dir, f"{stem}.{rule}"))), checkpoint_dir,
                                     f"{stem}.{rule}").to(device).eval() for rule in SELECTIONS}
        return chosen, done["run_id"], done["steps"]
    checkpoint = Checkpointer(checkpoint_dir / f"{stem}.ckpt", fp, cfg.checkpoint_every)
    run = open_training_run(checkpoint, params, "dann", run_params, run_name=f"dann {pair} {mode} seed {seed}",
                            tags={"dann.pair": pair, "dann.mode": mode})
    with run.failing_on_error():
        log_data_inputs(run, inputs)
        method = PIXEL_MODES[mode].method if mode in PIXEL_MODES else mode
        _, curves, chosen = train_mode(method, cfg, data, device, seed, MetricBuffer(run, params.tracking.log_every),
                                       checkpoint.with_extra(run_id=run.run_id), class_balance(params, pair, mode), init)
        steps = dict.fromkeys(SELECTIONS, cfg.steps)
        if "val_accuracy" in curves:
            scored = curves.dropna(subset=["val_accuracy"])
            for rule, column in (("labelled", "val_accuracy"), ("unsupervised", "val_information")):
                steps[rule] = int(scored["step"][scored[column].idxmax()])  # the first best, as training kept
        log_plots(run, curves, [Plot(["loss_class", "loss_domain", "lr"], f"{mode} on {pair}", f"curves/{mode}.png"),
                                Plot(["val_accuracy", "val_information"], f"{mode} on {pair}: target validation (steps "
                                     f"{steps['labelled']} / {steps['unsupervised']} kept)", f"curves/{mode}_val.png", scored_rows=True)])
        run.log_metrics({"best_step": steps["labelled"], "unsupervised_step": steps["unsupervised"]})
        for rule, model in chosen.items():
            save_weights(model, model.cfg.to_dict(), checkpoint_dir, f"{stem}.{rule}")
        # atomic: a half-written marker never counts
        write_json(done_file, {"fingerprint": fp, "run_id": run.run_id, "steps": steps})
        checkpoint.remove()
    return chosen, run.run_id, steps


def train_pair(params: Params, pair: str, prepared_root: Path, models_dir: Path, metrics_file: Path,
               figures_dir: Path, checkpoint_dir: Path, translator_dir: Path | None = None) -> dict:
    """Every mode of dann.modes for one pair, or with ``translator_dir`` the pixel modes."""
    modes = list(PIXEL_MODES) if translator_dir is not None else list(params.dann.modes)
    for mode in modes:  # a bad dann.settings entry is a one-line error before any work or MLflow run
        method = PIXEL_MODES[mode].method if mode in PIXEL_MODES else mode
        get_method(method, params.dann.settings.get(method))
    data = load_pair(params, pair, prepared_root)
    cfg, names = params.dann, params.dann.pairs[pair]
    device = resolve_device(cfg.device)
    if translator_dir is not None:
        source = translate_source(params, pair, prepared_root, translator_dir, device)  # (N or 2N, S, S, C)
        if params.dann.pixel_pairs[pair].with_source:  # translations first, then the source as load_pair gives it
            source = Domain(np.concatenate([source.images, data.source_train.images]),
                            np.concatenate([source.labels, data.source_train.labels]))
        data = PairData(source, data.target_train, data.target_val)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    seeds = [params.seed + i for i in range(cfg.seeds)]
    stems = {(mode, seed): model_name(mode, i, seed) for mode in modes for i, seed in enumerate(seeds)}
    val_results, run_ids, chosen, steps = {}, {}, {}, {}
    inputs = {"source": prepared_root / names.source, "target": prepared_root / names.target}
    val_labelled = Domain(data.target_val.images[:cfg.val_labels], data.target_val.labels[:cfg.val_labels])
    for (mode, seed), stem in stems.items():  # mode by mode: pixel's models exist before pixel_st's start
        start_from = PIXEL_MODES[mode].warm_start_from if mode in PIXEL_MODES else None
        init = chosen[stems[start_from, seed]]["labelled"] if start_from and params.dann.pixel_pairs[pair].warm_start else None
        chosen[stem], run_ids[stem], steps[stem] = _train_or_reuse(params, pair, mode, seed, stem, data, device,
                                                                   checkpoint_dir, inputs, init)
        val_results[stem] = accuracy(chosen[stem]["labelled"], val_labelled)
    models = {stem: by_rule["labelled"] for stem, by_rule in chosen.items()}  # saved, plotted, the table's headline
    # Every mode is trained and every choice made: now the test splits are read, once.
    source_test = load_domain(params, pair, prepared_root, "source", "test")
    target_test = load_domain(params, pair, prepared_root, "target", "test")
    results = {(stem, rule): accuracy(model, target_test) for stem, by_rule in chosen.items() for rule, model in by_rule.items()}
    for stem in stems.values():
        ModelRun(run_ids[stem]).log_metrics({"target_test_accuracy": results[stem, "labelled"],
                                             "target_test_accuracy_last": results[stem, "last"],
                                             "target_test_accuracy_unsupervised": results[stem, "unsupervised"],
                                             "target_val_accuracy": val_results[stem]})
    metrics = {"target_test_n": len(target_test.labels), "target_val_n": len(val_labelled.labels),
               "target_val_unlabelled_n": len(data.target_val.labels), "seeds": len(seeds),
               "source": names.source, "target": names.target}
    metrics |= {f"best_step.{stem}": step["labelled"] for stem, step in steps.items()}  # chosen on labelled validation
    metrics |= {f"unsupervised_step.{stem}": step["unsupervised"] for stem, step in steps.items()}
    for mode in modes:  # mean (and std) over the seeds; each seed's figure too when there are several
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
    with atomic_dir(figures_dir) as figures_tmp, atomic_dir(models_dir) as models_tmp:
        for stem, model in models.items():
            save_weights(model, model.cfg.to_dict(), models_tmp, stem)
        for mode in [m for m in modes if m in TSNE_MODES]:  # the first seed's models
            points = tsne_2d(features_and_predictions(models[mode], images)[0], params.seed)
            title = f"{mode}: {names.source} (source) -> {names.target} (target), t-SNE of {n}+{n} test features"
            fig = tsne_figure(points, classes, domains, (names.source, names.target), title)
            fig.savefig(figures_tmp / f"tsne_{mode}.png", dpi=90)
            ModelRun(run_ids[mode]).log_figure(fig, f"tsne/tsne_{mode}.png")
            plt.close(fig)
        (models_tmp / "mlflow_runs.json").write_text(json.dumps(run_ids, indent=2) + "\n")
    write_json(metrics_file, metrics)
    for run_id in run_ids.values():
        ModelRun(run_id).finish()
    for stale in checkpoint_dir.glob("*"):
        stale.unlink()
    return metrics


def load_mode(models_dir: Path, mode: str, device: torch.device) -> DANN:
    model = DANN(DANNConfig(**load_config(models_dir, mode)))
    return load_weights(model, models_dir, mode).to(device).eval()
