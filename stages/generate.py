"""DVC stage generate-<family>@<name>: write a trained model's image grids and sample sets."""

import argparse
from pathlib import Path

from genadapt.core.cli import run_stage
from genadapt.core.outputs import output_path
from genadapt.core.params import load_params_for_model
from genadapt.core.registry import StagePaths, load_verb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", help="a model instance of params.yaml models (e.g. vae, dcgan)")
    parser.add_argument("--model-dir", type=Path, required=True, help="the train stage's output folder")
    parser.add_argument("--data", type=Path, required=True, help="prepared dataset folder")
    parser.add_argument("--out", type=output_path, required=True, help="output folder for images")
    parser.add_argument("--data-b", type=Path, help="a translation model's second domain: prepared dataset folder")
    args = parser.parse_args()
    params, family = load_params_for_model(args.model)
    load_verb(family, "generate")(params, args.model, StagePaths(data=args.data, model=args.model_dir, out=args.out, data_b=args.data_b))


if __name__ == "__main__":
    run_stage(main)
