"""DVC stage inception-weights: the identity (format and checksum) of the FID Inception weights.

The weights lie outside the repository (the torch hub cache, an installed package, a user path),
so DVC cannot hash them as a dependency. This stage runs at every `dvc repro` (always_changed),
hashes them and writes the identity; the reference features depend on that file, so they are
recomputed exactly when the weights' content changes.
"""

import argparse
import json

from genadapt.core.cli import run_stage
from genadapt.core.outputs import output_path, write_json
from genadapt.core.params import load_params


def main() -> None:
    # here, not above: nothing heavy before run_stage hands the stage to the warm server
    from genadapt.metrics.inception.weights import resolve_weights

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=output_path, required=True, help="identity file (JSON)")
    args = parser.parse_args()
    cfg = load_params().evaluate
    weights, reason = resolve_weights(cfg.inception, cfg.inception_weights)
    identity = {"available": True, **weights.identity()} if weights else {"available": False, "reason": reason}
    write_json(args.out, identity)
    print(json.dumps(identity))


if __name__ == "__main__":
    run_stage(main)
