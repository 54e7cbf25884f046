"""DVC stage prepare-data@<dataset>: write one dataset in the prepared format."""

import argparse

from genadapt.core.cli import run_stage
from genadapt.core.outputs import atomic_dir, output_path
from genadapt.core.params import DATASETS, load_params


def main() -> None:
    # here, not above: nothing heavy before run_stage hands the stage to the warm server
    from genadapt.core.tracking import log_stage_run
    from genadapt.data.format.prepared import write_prepared
    from genadapt.data.prepare import dataset_kind, prepare_dataset

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dataset", help=f"one of {', '.join(DATASETS)}")
    parser.add_argument("--out", type=output_path, required=True, help="output folder")
    args = parser.parse_args()
    params = load_params()
    cfg = params.data.get(args.dataset)
    splits = prepare_dataset(args.dataset, cfg, params.seed)
    with atomic_dir(args.out) as tmp:
        write_prepared(tmp, args.dataset, cfg.source, dataset_kind(args.dataset), splits)
    log_stage_run(params, f"prepare-data@{args.dataset}", section=f"data.{args.dataset}", artifacts=[args.out / "meta.json"])
    counts = ", ".join(f"{s}={len(d.images)}" for s, d in splits.items())
    print(f"prepared {args.dataset} ({cfg.source}): {counts}, image shape {splits['train'].images.shape[1:]}")


if __name__ == "__main__":
    run_stage(main)
