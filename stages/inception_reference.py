"""DVC stage inception-reference@<dataset>: Inception features of the real test split, computed once."""

import argparse
import json
from pathlib import Path

from genadapt.core.cli import run_stage
from genadapt.core.outputs import output_path
from genadapt.core.params import load_params


def main() -> None:
    # here, not above: nothing heavy before run_stage hands the stage to the warm server
    from genadapt.metrics.inception.reference import write_reference

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="prepared dataset folder")
    parser.add_argument("--out", type=output_path, required=True, help="output folder")
    args = parser.parse_args()
    info = write_reference(load_params().evaluate, args.data, args.out)
    print(json.dumps({args.data.name: info}))


if __name__ == "__main__":
    run_stage(main)
