"""Choose each adaptation pair's ``invert_source`` and ``class_balance`` on the target validation split.

For every instance of params.yaml's ``models.adapt`` (after any preset), dann_st, the method both
settings act on, is trained with each of the four combinations (seed ``seed``, the pair's ``steps`` as a
budget, the best validation checkpoint kept as in the train-adapt stages) and scored on the target's
labelled validation split. The test splits are never read. Prints one Markdown table (validation
accuracy and the step kept per combination) and the chosen settings as a ``models.adapt`` block to
paste into params.yaml or a preset. Needs the prepared data (``dvc repro prepare-data``).

    PYTHONPATH=src python bench/dann_presets.py [--pairs mnist-mnistm usps-mnistm]
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

from genadapt.core.params import load_params, replace
from genadapt.core.registry import StagePaths
from genadapt.core.runtime import resolve_device
from genadapt.families.adapt.shared.loop import train_mode
from genadapt.families.adapt.train import load_pair

CANDIDATES = list(itertools.product((False, True), (0.0, 1.0)))  # (invert_source, class_balance)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", nargs="*", help="pairs to tune (default: every models.adapt instance)")
    parser.add_argument("--prepared", type=Path, default=Path("data/prepared"), help="prepared datasets folder")
    args = parser.parse_args()
    params = load_params(families=("adapt",))
    instances = params.instances("adapt")
    pairs = args.pairs or list(instances)
    print(f"dann_st, each pair's steps, seed {params.seed}: target validation accuracy (step kept)\n")
    print("| pair | target val N | " + " | ".join(f"invert {i}, balance {b:g}" for i, b in CANDIDATES) + " | minutes |")
    print(f"|---|---|{'---|' * len(CANDIDATES)}---|", flush=True)
    chosen = {}
    for pair in pairs:
        start, scores = time.perf_counter(), {}
        for invert, balance in CANDIDATES:
            cfg = replace(instances[pair], invert_source=invert, class_balance=balance)
            data = load_pair(cfg, StagePaths(data=args.prepared / cfg.source, data_b=args.prepared / cfg.target))
            _, curves, _ = train_mode("dann_st", cfg, data, resolve_device(cfg.device), params.seed, class_balance=balance)
            scored = curves.dropna(subset=["val_accuracy"])
            best = scored["val_accuracy"].idxmax()
            scores[invert, balance] = (float(scored["val_accuracy"][best]), int(scored["step"][best]), len(data.target_val.labels))
        # Ties go to the first candidate in CANDIDATES order: no inversion, no balance term.
        chosen[pair] = max(CANDIDATES, key=lambda c: scores[c][0])
        cells = " | ".join(f"{'**' if c == chosen[pair] else ''}{scores[c][0]:.3f}{'**' if c == chosen[pair] else ''} ({scores[c][1]})"
                           for c in CANDIDATES)
        n_val = scores[CANDIDATES[0]][2]
        print(f"| {pair} | {n_val} | {cells} | {(time.perf_counter() - start) / 60:.1f} |", flush=True)
    print("\nmodels:\n  adapt:")
    for pair, (invert, balance) in chosen.items():
        cfg = instances[pair]
        print(f"    {pair}: {{source: {cfg.source}, target: {cfg.target}, channels: {cfg.channels}, "
              f"invert_source: {str(invert).lower()}, class_balance: {balance:g}}}")


if __name__ == "__main__":
    main()
