"""Compare settings of one CycleGAN instance on the validation splits, to choose its defaults.

Each setting (a JSON object of keys that differ from the instance's params.yaml values, ``{}``
for the instance as it is) trains both directions with seed ``seed`` as the train-cyclegan stage
does, scoring the EMA pair every ``eval_every`` steps by ``fd_classifier`` both ways on the
validation splits (the stage's choice of weights). For the kept step it prints that score and each
direction's diversity ratio (mode collapse below ~0.7): the translations' evaluator features against
as many real validation images at the model's size. The test splits are never read. Needs the
prepared data and evaluators (``dvc repro train-classifier``).

    PYTHONPATH=src python bench/cyclegan_settings.py cartoon-anime '{}' '{"lr": 1e-3, "lambda_identity": 2.0}'
"""

from __future__ import annotations

import argparse
import json
import time

from genadapt.core.params import load_params_for_model, replace
from genadapt.core.registry import instance_paths
from genadapt.core.runtime import resolve_device
from genadapt.evaluator.scoring import Evaluator
from genadapt.families.cyclegan.shared.params import CycleGANParams
from genadapt.families.cyclegan.shared.stored import instance, split_images
from genadapt.families.cyclegan.shared.training import Translators, UnpairedData, train_cyclegan, translate
from genadapt.families.cyclegan.train import EvaluatorInput
from genadapt.metrics.diversity import diversity_ratio
from genadapt.metrics.frechet import frechet_distance


def trial(cfg: CycleGANParams, paths, evaluator_a: Evaluator, evaluator_b: Evaluator, seed: int, device) -> dict:
    """Train one setting; its kept step, the stage's score there and both diversity ratios."""
    data = UnpairedData(split_images(cfg, paths.data, "train"), split_images(cfg, paths.data_b, "train"))
    val_a, val_b = split_images(cfg, paths.data, "val"), split_images(cfg, paths.data_b, "val")
    real_a, real_b = evaluator_a.features(val_a), evaluator_b.features(val_b)  # (N_val, D) each
    n, diversity = cfg.eval_samples, {}

    def quality_score(pair: Translators) -> float:
        """The stage's score (n translations against every validation image); records the diversity ratios."""
        fake_b = evaluator_b.features(translate(pair.a_to_b, val_a[:n]))
        fake_a = evaluator_a.features(translate(pair.b_to_a, val_b[:n]))
        score = frechet_distance(fake_b, real_b) + frechet_distance(fake_a, real_a)
        diversity[score] = (diversity_ratio(fake_b, real_b[:n]), diversity_ratio(fake_a, real_a[:n]))
        return score

    semantic = EvaluatorInput(evaluator_a) if cfg.lambda_semantic else None
    start = time.perf_counter()
    _, _, summary = train_cyclegan(cfg, data, device, seed, quality_score=quality_score, semantic=semantic)
    return {"kept": summary["best_step"], "score": summary["best_score"], "diversity": diversity[summary["best_score"]],
            "minutes": (time.perf_counter() - start) / 60}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instance", help="a models.cyclegan instance of params.yaml")
    parser.add_argument("settings", nargs="+", help="JSON objects of overrides, e.g. '{\"lr\": 1e-3}'")
    args = parser.parse_args()
    params, _ = load_params_for_model(args.instance)
    base = instance(params, args.instance)
    paths = instance_paths("cyclegan", args.instance, base.source, base.target)
    device = resolve_device(base.device)
    evaluator_a, evaluator_b = Evaluator(paths.evaluator, device), Evaluator(paths.evaluator_b, device)
    print(f"{args.instance} ({base.source} <-> {base.target}), seed {params.seed}: validation scores at the kept step\n")
    print(f"| setting | steps | kept step | fd_classifier both ways | diversity {base.source} -> {base.target} "
          f"| diversity {base.target} -> {base.source} | minutes |")
    print("|---|---|---|---|---|---|---|", flush=True)
    for setting in args.settings:
        cfg = replace(base, **json.loads(setting))
        row = trial(cfg, paths, evaluator_a, evaluator_b, params.seed, device)
        print(f"| `{setting}` | {cfg.steps} | {row['kept']} | {row['score']:.1f} | {row['diversity'][0]:.3f} "
              f"| {row['diversity'][1]:.3f} | {row['minutes']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
