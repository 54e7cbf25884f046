"""DVC stage evaluate-<model>: compute a trained model's metrics into a DVC metrics file."""

import argparse
import json
from pathlib import Path

from genadapt.params import load_params
from genadapt.stage import run_stage
from genadapt.steps import model_steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", help="model name, e.g. vae")
    parser.add_argument("--model-dir", type=Path, required=True, help="the train stage's output folder")
    parser.add_argument("--data", type=Path, required=True, help="prepared dataset folder")
    parser.add_argument("--out", type=Path, required=True, help="metrics JSON file")
    args = parser.parse_args()
    params = load_params()
    metrics = model_steps(args.model).evaluate(params, args.model_dir, args.data, args.out)
    print(json.dumps({args.model: metrics}))


if __name__ == "__main__":
    run_stage(main)
