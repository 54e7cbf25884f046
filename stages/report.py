"""DVC stage report: one self-contained HTML page from the pipeline's outputs."""

import argparse
from pathlib import Path

from genadapt.core.cli import run_stage, stage_times_folder
from genadapt.core.outputs import atomic_dir, output_path
from genadapt.core.params import load_params
from genadapt.core.registry import load_verb


def main() -> None:
    # here, not above: nothing heavy before run_stage hands the stage to the warm server
    from genadapt.evaluator.report import classifier_section
    from genadapt.report import read_stage_times, render_html

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=output_path, required=True, help="report folder")
    args = parser.parse_args()
    params = load_params(families=None)
    sections = [load_verb(family, "report")(params, name)
                for family, instances in params.models.items() for name in instances]
    sections.append(classifier_section(Path("metrics/classifiers")))
    with atomic_dir(args.out) as tmp:
        (tmp / "index.html").write_text(render_html(sections, read_stage_times(stage_times_folder())))
    print(f"report written to {args.out / 'index.html'}")


if __name__ == "__main__":
    run_stage(main)
