"""GAN recipes at the same wall-clock budget, chosen on validation FID, reported on test (a table and a plot).

Each recipe is the ``dcgan`` instance of params.yaml (after any preset, e.g. presets/real_data.yaml +
presets/celeba_cpu.yaml for the real CelebA sample) with a few keys changed:

- ``dcgan``: as it is;
- ``dcgan+diffaugment``: ``augment: color,translation,cutout`` (DiffAugment, Zhao et al. 2020);
- ``sngan+diffaugment``: the SNGAN kind (spectral norm in D, hinge loss) with the same policy.

A recipe's step count is its budget times its own speed (steps/s measured on two short warm-up runs
just before, from the difference of their times), so every recipe gets the same training time. ``--evals`` times during training the
EMA generator's FID against the validation split is computed (the evaluation time is not counted
as training time), and the generator with the best validation FID is kept; only that one is scored
against the test split, once, with ``--test-samples`` generated images (FID and KID). Needs the
prepared dataset (``dvc repro prepare-data@faces``) and the FID Inception weights (``make setup``).

    PYTHONPATH=src python bench/gan_recipes.py --minutes 6 --evals 3 --plot docs/figures/gan_recipes.png
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from machine import cpu_model  # bench/machine.py (this script's folder is on sys.path)

from genadapt.core.params import load_params, validate_instance
from genadapt.core.runtime import bf16_native
from genadapt.data.format.prepared import load_split
from genadapt.families.gan.kinds import get_kind
from genadapt.families.gan.shared.latent import generate_images, sample_latent
from genadapt.families.gan.train import load_gan_data
from genadapt.families.gan.training import train_gan
from genadapt.metrics.frechet import frechet_distance
from genadapt.metrics.inception.features import InceptionFeatures, inception_metrics
from genadapt.metrics.inception.weights import resolve_weights

POLICY = "color,translation,cutout"
RECIPES = {"dcgan": {}, "dcgan+diffaugment": {"augment": POLICY}, "sngan+diffaugment": {"kind": "sngan", "augment": POLICY}}


class TrainingClock:
    """Seconds of training so far, with the evaluations' time left out."""

    def __init__(self):
        self.start, self.paused = time.perf_counter(), 0.0

    def pause(self) -> tuple[float, float]:
        now = time.perf_counter()
        return now, now - self.start - self.paused

    def resume(self, paused_at: float) -> None:
        self.paused += time.perf_counter() - paused_at


def steps_per_second(kind, cfg, data, device, seed: int, short: int = 5, long: int = 30) -> float:
    """Training speed from two short runs: the difference of their times leaves out what every run pays once
    (building the networks, the first steps' allocations), which a single short run would count as training."""
    seconds = []
    for steps in (short, long):
        start = time.perf_counter()
        train_gan(kind, cfg.model_copy(update={"steps": steps, "eval_every": 0}), data, device, seed=seed)
        seconds.append(time.perf_counter() - start)
    return (long - short) / max(seconds[1] - seconds[0], 1e-6)


def samples(G, n: int, seed: int) -> np.ndarray:
    """n images (n, S, S, C) uint8 from fixed latents (the same for every evaluation of a run)."""
    G.eval()
    images = generate_images(G, sample_latent(G.cfg, n, torch.Generator().manual_seed(seed)).vector)
    G.train()
    return images if images.shape[-1] == 3 else np.repeat(images, 3, axis=-1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="dcgan", help="the params.yaml GAN instance the recipes start from")
    parser.add_argument("--recipes", default=",".join(RECIPES))
    parser.add_argument("--minutes", type=float, default=6.0, help="training budget per recipe")
    parser.add_argument("--evals", type=int, default=3, help="validation FIDs per run (the last at the end)")
    parser.add_argument("--val-samples", type=int, default=500)
    parser.add_argument("--test-samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", type=Path, help="write FID against training time here (PNG)")
    parser.add_argument("--grids", type=Path, help="write 64 samples of each recipe's chosen generator here (<recipe>.png)")
    args = parser.parse_args()

    params = load_params(families=("gan",))
    family, base = params.instance(args.model)
    raw = base.model_dump()
    data_dir = Path("data/prepared") / base.dataset
    if not (data_dir / "meta.json").exists():
        sys.exit(f"error: {data_dir} not found; run `dvc repro prepare-data@{base.dataset}` first")
    weights, reason = resolve_weights("required", params.evaluate.inception_weights)
    if weights is None:
        sys.exit(f"error: {reason}")
    cpu = torch.device("cpu")
    extractor = InceptionFeatures(weights, cpu, params.evaluate.batch_size, fast=params.evaluate.amp)
    rgb = lambda x: x if x.shape[-1] == 3 else np.repeat(x, 3, axis=-1)  # noqa: E731
    val_pool = extractor(rgb(load_split(data_dir, "val").images))[0]
    test_pool = extractor(rgb(load_split(data_dir, "test").images))[0]

    rows, histories = [], {}
    for name in args.recipes.split(","):
        cfg = validate_instance(family, args.model, {**raw, **RECIPES[name]})
        kind, data = get_kind(cfg.kind), load_gan_data(cfg, data_dir)
        rate = steps_per_second(kind, cfg, data, cpu, args.seed)
        steps = max(args.evals, int(args.minutes * 60 * rate))
        cfg = cfg.model_copy(update={"steps": steps, "eval_every": max(1, steps // args.evals)})
        clock, history = TrainingClock(), []

        def val_fid(G, clock=clock, history=history, name=name):
            paused_at, trained = clock.pause()
            fid = frechet_distance(extractor(samples(G, args.val_samples, args.seed + 1))[0], val_pool)
            history.append((trained, fid))
            print(f"{name}: {trained / 60:.1f} min of training, validation FID {fid:.1f}", file=sys.stderr)
            clock.resume(paused_at)
            return {"score": fid, "fid": fid}

        G, _, summary = train_gan(kind, cfg, data, cpu, seed=args.seed, quality_score=val_fid)
        test = inception_metrics(extractor(samples(G, args.test_samples, args.seed + 2))[0], None, test_pool,
                                 params.evaluate.kid_subset_size)
        histories[name] = history
        if args.grids:
            from genadapt.figures import save_grid, uint8_batch

            save_grid(uint8_batch(samples(G, 64, args.seed + 3)), args.grids / f"{name}.png", nrow=8)
        rows.append((name, steps, history[-1][0], summary["best_step"], summary["best_score"], test))

    print(f"\n{base.dataset}: {len(data.images)} train images at {cfg.image_size}px; validation FID: {args.val_samples} generated "
          f"vs {len(val_pool)} validation images; test: {args.test_samples} generated vs {len(test_pool)} test images, KID "
          f"over subsets of {params.evaluate.kid_subset_size}; seed {args.seed}; {torch.get_num_threads()} CPU threads "
          f"({cpu_model()}, {'native bf16' if bf16_native(cpu) else 'no native bf16'}; the GANs trained in "
          f"{'bf16' if cfg.amp and bf16_native(cpu) else 'float32'}); training budget "
          f"{args.minutes:g} min per recipe\n")
    print("| recipe | steps | training min | chosen step (best validation FID) | validation FID | test FID | test KID (mean ± std) |")
    print("|---|---|---|---|---|---|---|")
    for name, steps, seconds, best_step, best_val, test in rows:
        print(f"| {name} | {steps} | {seconds / 60:.1f} | {best_step} | {best_val:.1f} | {test['fid']:.1f} | "
              f"{test['kid_mean']:.4f} ± {test['kid_std']:.4f} |")
    if args.plot:
        from genadapt.figures import plt

        fig, ax = plt.subplots(figsize=(6, 4))
        for name, history in histories.items():
            ax.plot([t / 60 for t, _ in history], [f for _, f in history], marker="o", label=name)
        ax.set(xlabel="training time (min, evaluation excluded)", ylabel=f"validation FID ({args.val_samples} vs {len(val_pool)})",
               title=f"{base.dataset}: FID against training time")
        ax.legend()
        args.plot.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.plot, dpi=120, bbox_inches="tight")
        print(f"\nplot: {args.plot}")


if __name__ == "__main__":
    main()
