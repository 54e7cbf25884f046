"""DVC stage train-<model>: train one model on a prepared dataset and open its MLflow run."""

import argparse
from pathlib import Path

from genadapt.params import load_params
from genadapt.stage import run_stage
from genadapt.steps import model_steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", help="model name, e.g. vae")
    parser.add_argument("--data", type=Path, required=True, help="prepared dataset folder")
    parser.add_argument("--out", type=Path, required=True, help="model output folder")
    args = parser.parse_args()
    params = load_params()
    model_steps(args.model).train(params, args.data, args.out)


if __name__ == "__main__":
    run_stage(main)
