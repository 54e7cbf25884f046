"""DVC stage report: one self-contained HTML page from the pipeline's outputs."""

import argparse
from pathlib import Path

from genadapt.outputs import atomic_dir
from genadapt.params import GAN_MODELS, load_params
from genadapt.report import classifier_section, dann_section, gan_section, render_html, vae_section
from genadapt.stage import run_stage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="report folder")
    args = parser.parse_args()
    params = load_params()
    sections = [
        vae_section(params, Path("models/vae"), Path("generated/vae"), Path("metrics/vae.json")),
        *(gan_section(params, m, Path("models") / m, Path("generated") / m, Path("metrics") / f"{m}.json") for m in GAN_MODELS),
        dann_section(params, Path("metrics/dann_table.json"), Path("generated/dann")),
        classifier_section(Path("metrics/classifiers")),
    ]
    with atomic_dir(args.out) as tmp:
        (tmp / "index.html").write_text(render_html(sections))
    print(f"report written to {args.out / 'index.html'}")


if __name__ == "__main__":
    run_stage(main)
