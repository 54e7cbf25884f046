"""Compare settings of an evaluator classifier on its validation split, to choose them.

Each setting (a JSON object of ``classifier`` keys that differ from params.yaml, ``{}`` for the
params as they are) trains the evaluator of one prepared dataset with the seed of params.yaml, as
the train-classifier stage does, and keeps the best of its checkpoints by the validation headline.
The table gives, per setting, that checkpoint's validation accuracy (every attribute's mean for
faces, plus ``--attribute``), the step kept and the training time. The test split is never read.
Needs the prepared dataset (``dvc repro prepare-data@<name>``).

    PYTHONPATH=src python bench/evaluator_settings.py data/prepared/faces '{}' '{"mirror_faces": true, "head_grid": 4}'
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

from machine import cpu_model  # bench/machine.py (this script's folder is on sys.path)

from genadapt.core.params import ClassifierParams, load_params, replace
from genadapt.evaluator.train import fit_and_choose


def interval(p: float, n: int) -> float:
    """Half-width of the 95% normal interval of an accuracy p over n images."""
    return 1.96 * math.sqrt(p * (1 - p) / n)


def classifier_with(classifier: ClassifierParams, setting: str, parser: argparse.ArgumentParser) -> ClassifierParams:
    """The classifier params with one setting's overrides; a bad setting ends the script in one line."""
    try:
        changes = json.loads(setting)
        if not isinstance(changes, dict):
            raise ValueError("not a JSON object")
        return replace(classifier, **changes)
    except ValueError as exc:  # bad JSON or a key / value ClassifierParams refuses
        parser.error(f"setting {setting}: {' '.join(str(exc).split())}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="a prepared dataset folder, e.g. data/prepared/faces")
    parser.add_argument("settings", nargs="+", help="JSON objects of classifier overrides, e.g. '{\"head_grid\": 4}'")
    parser.add_argument("--attribute", default="Smiling", help="a face attribute to list beside the mean")
    args = parser.parse_args()
    params = load_params()
    configs = [(setting, classifier_with(params.classifier, setting, parser)) for setting in args.settings]  # all checked first
    print(f"{args.data} | seed {params.seed} | {cpu_model()}")
    rows = []
    for setting, cfg in configs:
        start = time.perf_counter()
        chosen = fit_and_choose(cfg, params.seed, args.data)
        seconds = time.perf_counter() - start
        headline = chosen.val[chosen.headline]
        attribute = chosen.val.get(f"accuracy.{args.attribute}", math.nan)
        rows.append((setting, attribute, headline, chosen.step, seconds))
        print(f"  {setting}: validation {chosen.headline} {headline:.3f}, step {chosen.step}, {seconds:.0f} s", flush=True)
    n = chosen.val_n
    print(f"\n| setting | validation {args.attribute} (N {n}) | validation {chosen.headline} | step kept | seconds |")
    print("|---|---|---|---|---|")
    for setting, attribute, headline, step, seconds in rows:
        shown = "-" if math.isnan(attribute) else f"{attribute:.3f} ± {interval(attribute, n):.3f}"
        print(f"| `{setting}` | {shown} | {headline:.3f} | {step} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
