"""DVC stages train-dann@<pair> (every mode of dann.modes for one domain pair, tested on the target) and
train-dann-pixel@<pair> (with --translator: the pixel-level modes, on the source translated by a CycleGAN)."""

import argparse
import json
from pathlib import Path

from genadapt.core.cli import run_stage
from genadapt.core.outputs import output_path
from genadapt.core.params import load_params


def main() -> None:
    # here, not above: nothing heavy before run_stage hands the stage to the warm server
    from genadapt.adaptation.study import train_pair

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("pair", help="a key of dann.pairs in params.yaml, e.g. mnist-mnistm")
    parser.add_argument("--prepared", type=Path, default=Path("data/prepared"), help="prepared datasets folder")
    parser.add_argument("--models", type=output_path, required=True, help="output folder for the weights")
    parser.add_argument("--metrics", type=output_path, required=True, help="output JSON of target test accuracies")
    parser.add_argument("--figures", type=output_path, required=True, help="output folder for the t-SNE plots")
    parser.add_argument("--checkpoints", type=output_path, required=True, help="folder for resumable checkpoints (DVC persist)")
    parser.add_argument("--translator", type=Path, help="a trained CycleGAN's folder (models/<name>): train the pixel modes")
    args = parser.parse_args()
    params = load_params(families=("cyclegan",) if args.translator else ())
    metrics = train_pair(params, args.pair, args.prepared, args.models, args.metrics, args.figures, args.checkpoints, args.translator)
    print(json.dumps({args.pair: metrics}))


if __name__ == "__main__":
    run_stage(main)
