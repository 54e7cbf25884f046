"""FID of one GAN's generated set, four ways, with the real FID Inception weights (printed as tables).

- plain float32: pytorch-fid's network and preprocessing, its layers run as they are (the reference).
- folded float32: the pipeline's pass on a device without native bf16: each batch norm folded into
  its convolution, channels-last memory (the same features to float32 rounding).
- folded bf16: the same in bf16 autocast, as the pipeline runs it where the CPU/GPU has native
  bf16 (``evaluate.amp``). Kept only while it moves FID by less than 1%.
- pytorch-fid: the reference implementation's own command line (``python -m pytorch_fid gen real``,
  PNG loading and all), given the same weights: the installed file's tensors mapped to
  pytorch-fid's state-dict names in a temporary torch hub cache (the logits head, which FID does
  not use, is zeros there).

The same generated PNGs (``generated/<gan>/images``) and the same real test split are used by all
three. Timings: seconds per 1000 images of the Inception pass, median over ``--repeats`` passes of
``--timing-images`` images. Requires the pipeline's outputs for the GAN (``dvc repro
evaluate-gan@<gan>``) and the weights (``make setup``).

    PYTHONPATH=src python bench/evaluate.py [--model dcgan] [--repeats 3] [--no-pytorch-fid]
    PYTHONPATH=src python bench/evaluate.py --validation-of faces    # real validation images, no GAN needed

The table also gives images/s and the share of the CPU's float32 peak (threads x SIMD lanes x 2
FMA x 2 units x clock, from /proc/cpuinfo) that the pass reaches, from torch's count of the
pass's floating-point operations per 299x299 image.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from machine import cpu_model  # bench/machine.py (this script's folder is on sys.path)
from PIL import Image

from genadapt.core.params import load_params
from genadapt.data.format.prepared import load_split
from genadapt.data.image_files import read_images
from genadapt.metrics.inception.features import InceptionFeatures, inception_metrics, load_torchscript, map_torchscript_state
from genadapt.metrics.inception.weights import PYTORCH_FID_FILE, resolve_weights


def pytorch_fid_cli(generated: Path, real: np.ndarray, weights, tmp: Path) -> tuple[float, float]:
    """(FID, seconds) from pytorch-fid's command line with these weights in a temporary hub cache."""
    real_dir = tmp / "real"
    real_dir.mkdir()
    for i, image in enumerate(real):
        Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(real_dir / f"{i:06d}.png")
    checkpoints = tmp / "torch_home" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    if weights.format == "torchscript-pool":
        state = map_torchscript_state(load_torchscript(weights.path).state_dict())
        state |= {"fc.weight": torch.zeros(1008, 2048), "fc.bias": torch.zeros(1008)}
        torch.save(state, checkpoints / PYTORCH_FID_FILE)
    else:
        os.symlink(weights.path.resolve(), checkpoints / PYTORCH_FID_FILE)
    env = {**os.environ, "TORCH_HOME": str(tmp / "torch_home")}
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "pytorch_fid", str(generated), str(real_dir), "--device", "cpu",
                          "--num-workers", "0"], env=env, check=True, capture_output=True, text=True).stdout
    seconds = time.perf_counter() - start
    return float(re.search(r"FID:\s*([0-9.eE+-]+)", out).group(1)), seconds


def inception_gflop_per_image(extractor: InceptionFeatures) -> float:
    """Floating-point operations of one 299x299 image's pass to the pool features (torch's FLOP counter)."""
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.zeros(1, 3, 299, 299)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        extractor.blocks(x)
    return counter.get_total_flops() / 1e9


def cpu_peak_gflops() -> tuple[float, str]:
    """A float32 peak estimate of the cores torch uses: threads x SIMD lanes x 2 (FMA) x 2 FMA units x
    the clock /proc/cpuinfo reports (AVX-512: 16 lanes, AVX2: 8)."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    flags = set(re.search(r"^flags\s*:(.*)$", info, re.M).group(1).split()) if "flags" in info else set()
    mhz = [float(m) for m in re.findall(r"^cpu MHz\s*:\s*([0-9.]+)", info, re.M)]
    lanes = 16 if "avx512f" in flags else 8 if "avx2" in flags else 4
    ghz = max(mhz) / 1000 if mhz else 2.0
    name = f"{cpu_model()}, {'AVX-512' if lanes == 16 else 'AVX2' if lanes == 8 else 'SSE'}"
    name += ", native bf16" if {"avx512_bf16", "amx_bf16"} & flags else ", no native bf16"
    return torch.get_num_threads() * lanes * 2 * 2 * ghz, f"{name}, {ghz:.2f} GHz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="dcgan")
    parser.add_argument("--validation-of", metavar="DATASET",
                        help="score a dataset's real validation split instead of a GAN's images (no GAN needed: "
                             "`dvc repro prepare-data@DATASET` is enough)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timing-images", type=int, default=200)
    parser.add_argument("--no-pytorch-fid", action="store_true",
                        help="skip the reference command line (about 2 x 80 s per 1000 images on 2 cores)")
    args = parser.parse_args()
    params = load_params(families=("gan",))
    weights, reason = resolve_weights("required" if params.evaluate.inception != "off" else "off", params.evaluate.inception_weights)
    if weights is None:
        sys.exit(f"error: {reason}")
    scratch = tempfile.TemporaryDirectory()
    if args.validation_of:
        subject, data_dir = f"{args.validation_of} validation split", Path("data/prepared") / args.validation_of
        if not (data_dir / "meta.json").exists():
            sys.exit(f"error: {data_dir} not found; run `dvc repro prepare-data@{args.validation_of}` first")
        generated = load_split(data_dir, "val").images
        generated = generated if generated.shape[-1] == 3 else np.repeat(generated, 3, axis=-1)
        generated_dir = Path(scratch.name) / "val"  # as PNGs, for pytorch-fid's command line
        generated_dir.mkdir()
        for i, image in enumerate(generated):
            Image.fromarray(image).save(generated_dir / f"{i:06d}.png")
    else:
        _, cfg = params.instance(args.model)
        subject, data_dir = args.model, Path("data/prepared") / cfg.dataset
        generated_dir = Path("generated") / args.model
        if not (generated_dir / "images.csv").exists():
            sys.exit(f"error: {generated_dir} not found; run `dvc repro evaluate-gan@{args.model}` first")
        table = pd.read_csv(generated_dir / "images.csv")
        generated = read_images([generated_dir / "images" / n for n in table["image_id"]], "RGB")
        generated_dir = generated_dir / "images"
    real = load_split(data_dir, "test").images
    real_rgb = real if real.shape[-1] == 3 else np.repeat(real, 3, axis=-1)
    device = torch.device("cpu")

    rows, seconds = {}, {}
    variants = {"plain float32 (reference)": dict(folded=False), "folded float32": dict(), "folded bf16": dict(fast=True)}
    for name, options in variants.items():
        extractor = InceptionFeatures(weights, device, params.evaluate.batch_size, **options)
        if options.get("fast") and not extractor.bf16:
            print("this CPU has no native bf16: the bf16 row is float32 here", file=sys.stderr)
        gen_pool, gen_logits = extractor(generated)
        real_pool, _ = extractor(real_rgb)
        rows[name] = inception_metrics(gen_pool, gen_logits, real_pool, params.evaluate.kid_subset_size)
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            extractor(generated[: args.timing_images])
            times.append((time.perf_counter() - start) / min(args.timing_images, len(generated)) * 1000)
        seconds[name] = statistics.median(times)

    reference_fid = None
    if not args.no_pytorch_fid:
        with tempfile.TemporaryDirectory() as tmp:
            reference_fid, cli_seconds = pytorch_fid_cli(generated_dir, real, weights, Path(tmp))

    base = next(iter(variants))
    fid32 = rows[base]["fid"]
    gflop = inception_gflop_per_image(InceptionFeatures(weights, device, 1, folded=False))
    peak, cpu = cpu_peak_gflops()
    print(f"\n{subject}: {len(generated)} images vs {len(real)} real test images ({data_dir.name}), weights "
          f"{weights.format} {weights.digest[:14]}, {torch.get_num_threads()} CPU threads ({cpu}); "
          f"{gflop:.1f} GFLOP per image, float32 peak estimate {peak:.0f} GFLOP/s = {peak / gflop:.1f} images/s\n")
    print("| Inception pass | FID | FID vs plain float32 | KID (mean ± std) | precision | recall | s / 1000 images | images/s | "
          "share of the float32 peak | speed-up |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, m in rows.items():
        rate = 1000 / seconds[name]
        print(f"| {name} | {m['fid']:.3f} | {100 * (m['fid'] - fid32) / fid32:+.2f}% | {m['kid_mean']:.5f} ± {m['kid_std']:.5f} | "
              f"{m['precision']:.3f} | {m['recall']:.3f} | {seconds[name]:.1f} | {rate:.1f} | {rate * gflop / peak:.0%} | "
              f"{seconds[base] / seconds[name]:.2f} |")
    if reference_fid is not None:
        cli = cli_seconds / (len(generated) + len(real)) * 1000
        print(f"| pytorch-fid command line (reference) | {reference_fid:.3f} | {100 * (reference_fid - fid32) / fid32:+.2f}% | "
              f"| | | {cli:.1f} (incl. PNG reading) | {1000 / cli:.1f} | {1000 / cli * gflop / peak:.0%} | "
              f"{seconds[base] / cli:.2f} |")


if __name__ == "__main__":
    main()
