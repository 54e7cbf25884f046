"""DVC stage generate-<model>: write a trained model's image grids and sample sets."""

import argparse
from pathlib import Path

from genadapt.params import load_params
from genadapt.stage import run_stage
from genadapt.steps import StagePaths, model_steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", help="model name: vae, dcgan, acgan_faces, acgan_digits, infogan")
    parser.add_argument("--model-dir", type=Path, required=True, help="the train stage's output folder")
    parser.add_argument("--data", type=Path, required=True, help="prepared dataset folder")
    parser.add_argument("--out", type=Path, required=True, help="output folder for images")
    args = parser.parse_args()
    params = load_params()
    model_steps(args.model).generate(params, args.model, StagePaths(data=args.data, model=args.model_dir, out=args.out))


if __name__ == "__main__":
    run_stage(main)
