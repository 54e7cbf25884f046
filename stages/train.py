"""DVC stage train-<model>: train one model on a prepared dataset and open its MLflow run."""

import argparse
from pathlib import Path

from genadapt.params import load_params
from genadapt.stage import run_stage
from genadapt.steps import StagePaths, model_steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", help="model name: vae, dcgan, acgan_faces, acgan_digits, infogan")
    parser.add_argument("--data", type=Path, required=True, help="prepared dataset folder")
    parser.add_argument("--out", type=Path, required=True, help="model output folder")
    parser.add_argument("--checkpoints", type=Path, required=True, help="folder for resumable checkpoints (DVC persist)")
    parser.add_argument("--evaluator", type=Path, help="evaluator classifier folder (GANs: quality score)")
    args = parser.parse_args()
    params = load_params()
    paths = StagePaths(data=args.data, out=args.out, checkpoints=args.checkpoints, evaluator=args.evaluator)
    model_steps(args.model).train(params, args.model, paths)


if __name__ == "__main__":
    run_stage(main)
