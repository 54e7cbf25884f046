"""DVC stage evaluate-<family>@<name>: compute a trained model's metrics into a DVC metrics file."""

import argparse
import json
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
    parser.add_argument("--out", type=output_path, required=True, help="metrics JSON file")
    parser.add_argument("--generated", type=Path, help="the generate stage's output folder (GANs)")
    parser.add_argument("--evaluator", type=Path, help="evaluator classifier folder (GANs)")
    parser.add_argument("--reference", type=Path, help="Inception reference features folder (GANs)")
    for what in ("data", "evaluator", "reference"):
        parser.add_argument(f"--{what}-b", type=Path, help=f"a translation model's second domain: {what} folder")
    args = parser.parse_args()
    params, family = load_params_for_model(args.model)
    paths = StagePaths(data=args.data, model=args.model_dir, out=args.out, generated=args.generated, evaluator=args.evaluator,
                       reference=args.reference, data_b=args.data_b, evaluator_b=args.evaluator_b, reference_b=args.reference_b)
    print(json.dumps({args.model: load_verb(family, "evaluate")(params, args.model, paths)}))


if __name__ == "__main__":
    run_stage(main)
