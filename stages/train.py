"""DVC stage train-<family>@<name>: train one model instance and open its MLflow run."""

import argparse
from pathlib import Path

from genadapt.core.cli import run_stage
from genadapt.core.outputs import output_path
from genadapt.core.params import load_params_for_model
from genadapt.core.registry import StagePaths, load_verb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", help="a model instance of params.yaml models (e.g. vae, dcgan, svhn-mnistm)")
    parser.add_argument("--data", type=Path, required=True, help="prepared dataset folder")
    parser.add_argument("--out", type=output_path, required=True, help="model output folder")
    parser.add_argument("--checkpoints", type=output_path, required=True, help="folder for resumable checkpoints (DVC persist)")
    parser.add_argument("--curves", type=output_path, help="per-step training curves (CSV)")
    parser.add_argument("--metrics", type=output_path, help="the stage's metrics file (adaptation: target test accuracies)")
    parser.add_argument("--generated", type=output_path, help="the stage's figures folder (adaptation: t-SNE plots)")
    parser.add_argument("--translator", type=Path, help="pixel-level adaptation: the trained CycleGAN's folder")
    parser.add_argument("--evaluator", type=Path, help="evaluator classifier folder (GANs: quality score)")
    parser.add_argument("--data-b", type=Path, help="the second domain (translation, adaptation target): prepared dataset folder")
    parser.add_argument("--evaluator-b", type=Path, help="a translation model's second domain: evaluator classifier folder")
    args = parser.parse_args()
    params, family = load_params_for_model(args.model)
    paths = StagePaths(data=args.data, out=args.out, checkpoints=args.checkpoints, evaluator=args.evaluator, curves=args.curves,
                       data_b=args.data_b, evaluator_b=args.evaluator_b, metrics=args.metrics, generated=args.generated,
                       translator=args.translator)
    load_verb(family, "train")(params, args.model, paths)


if __name__ == "__main__":
    run_stage(main)
