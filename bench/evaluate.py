"""Time the evaluate stage of one GAN against the naive way (printed as a table).

Pipeline: ``stages/evaluate.py <gan>`` as DVC runs it: one Inception pass over the generated
PNGs (pool features for FID/KID/precision-recall and logits for IS), the real test split's
reference features read from the cached inception-reference output.

Naive: the pytorch-fid command line (``python -m pytorch_fid generated real``, which recomputes
the real statistics) followed by a separate Inception pass over the same generated images for IS.

Both use the same random-valued FID Inception state dict (installed into a temporary torch hub
cache), since the real weights are not available offline: the timings are real, the metric
values are meaningless and are not printed. Requires the pipeline's outputs for the GAN
(``dvc repro evaluate-<gan>``).

    PYTHONPATH=src python bench/evaluate.py [--model dcgan] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from genadapt.data.prepared import load_split
from genadapt.metrics.inception import WEIGHTS_FILE, write_random_weights
from genadapt.metrics.inception_reference import write_reference
from genadapt.params import load_params
from genadapt.tracking import start_model_run, write_run_file

NAIVE_IS = """
import sys, numpy as np, torch
from pathlib import Path
from PIL import Image
from torch_fidelity.metric_isc import isc_features_to_metric
from genadapt.metrics.inception import InceptionFeatures, find_weights
files = sorted(Path(sys.argv[1]).glob("*.png"))
images = np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files])
_, logits = InceptionFeatures(find_weights(""), torch.device("cpu"))(images)
isc_features_to_metric(torch.from_numpy(logits))
"""


def _timed(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="dcgan")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    params = load_params(families=("gan",))
    _, cfg = params.instance(args.model)
    data_dir, generated = Path("data/prepared") / cfg.dataset, Path("generated") / args.model
    if not (generated / "images.csv").exists():
        sys.exit(f"error: {generated} not found; run `dvc repro evaluate-gan@{args.model}` first")

    tmp = Path(tempfile.mkdtemp())
    hub = tmp / "torch_home" / "hub"
    (hub / "checkpoints").mkdir(parents=True)
    write_random_weights(hub / "checkpoints" / WEIGHTS_FILE)
    env = {**os.environ, "TORCH_HOME": str(tmp / "torch_home"), "PYTHONPATH": "src", "MLFLOW_TRACKING_URI": f"sqlite:///{tmp}/m.db"}
    os.environ.update(TORCH_HOME=env["TORCH_HOME"])

    # The pipeline's cached reference (computed once per dataset by inception-reference; not timed).
    reference = tmp / "reference"
    write_reference(params.evaluate, data_dir, reference)
    # The naive way reads the real test split as PNG files.
    real_pngs = tmp / "real"
    real_pngs.mkdir()
    for i, image in enumerate(load_split(data_dir, "test").images):
        Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(real_pngs / f"{i:06d}.png")
    n_generated = len(list((generated / "images").glob("*.png")))

    # A throw-away MLflow run file so evaluate can log (into the temporary store).
    model_dir = tmp / "model"
    model_dir.mkdir()
    os.environ["MLFLOW_TRACKING_URI"] = env["MLFLOW_TRACKING_URI"]
    write_run_file(model_dir, start_model_run(params, f"bench-{args.model}", {}), args.model)

    pipeline_cmd = [sys.executable, "stages/evaluate.py", args.model, "--model-dir", str(model_dir), "--data", str(data_dir),
                    "--generated", str(generated), "--evaluator", f"models/classifiers/{cfg.dataset}",
                    "--reference", str(reference), "--out", str(tmp / "metrics.json")]
    naive_fid = [sys.executable, "-m", "pytorch_fid", str(generated / "images"), str(real_pngs), "--device", "cpu"]
    naive_is = [sys.executable, "-c", NAIVE_IS, str(generated / "images")]
    pipeline_times, naive_times = [], []
    for _ in range(args.repeats):
        pipeline_times.append(_timed(pipeline_cmd, env))
        naive_times.append(_timed(naive_fid, env) + _timed(naive_is, env))
    pipe, naive = statistics.median(pipeline_times), statistics.median(naive_times)
    print(f"\n{args.model}: {n_generated} generated images vs {len(list(real_pngs.glob('*.png')))} real test images, "
          f"CPU, random-valued Inception weights (timing only), {args.repeats} repeats, medians\n")
    print("| method | seconds | speed-up |")
    print("|---|---|---|")
    print(f"| naive: pytorch-fid CLI (real stats recomputed) + separate IS pass | {naive:.1f} | 1.00 |")
    print(f"| pipeline evaluate stage (one pass, cached reference) | {pipe:.1f} | {naive / pipe:.2f} |")


if __name__ == "__main__":
    main()
