"""DVC stage train-classifier@<dataset>: the evaluator classifier used to score generated images."""

import argparse
import json
from pathlib import Path

from genadapt.core.cli import run_stage
from genadapt.core.outputs import output_path
from genadapt.core.params import load_params


def main() -> None:
    # here, not above: nothing heavy before run_stage hands the stage to the warm server
    from genadapt.evaluator.train import train

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="prepared dataset folder")
    parser.add_argument("--out", type=output_path, required=True, help="output folder for the classifier")
    parser.add_argument("--metrics", type=output_path, required=True, help="output JSON of its test accuracy")
    args = parser.parse_args()
    metrics = train(load_params(), args.data, args.out, args.metrics)
    print(json.dumps({args.data.name: metrics}))


if __name__ == "__main__":
    run_stage(main)
