"""DVC stage dann-table: the accuracy table (rows pairs, columns modes) as a metric and in MLflow."""

import argparse
from pathlib import Path

from genadapt.core.cli import run_stage
from genadapt.core.outputs import atomic_file, output_path, write_json
from genadapt.core.params import PIXEL_MODES, load_params


def main() -> None:
    # here, not above: nothing heavy before run_stage hands the stage to the warm server
    from genadapt.core.tracking import log_summary_run
    from genadapt.dann_table import accuracy_table, markdown_table, selection_markdown

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--metrics-dir", type=Path, required=True, help="folder of per-pair metrics JSON files")
    parser.add_argument("--out", type=output_path, required=True, help="output JSON table")
    parser.add_argument("--markdown", type=output_path, required=True, help="output Markdown table")
    parser.add_argument("--pixel-dir", type=Path, required=True, help="folder of the pixel-level modes' per-pair metrics")
    args = parser.parse_args()
    params = load_params()
    pixel = tuple(PIXEL_MODES) if params.dann.pixel_pairs else ()
    modes = tuple(params.dann.modes) + pixel
    table = accuracy_table([args.metrics_dir / f"{pair}.json" for pair in params.dann.pairs], tuple(params.dann.modes),
                           [args.pixel_dir / f"{pair}.json" for pair in params.dann.pixel_pairs], pixel)
    write_json(args.out, table)
    text = markdown_table(table, modes) + "\nTarget test accuracy by how the weights were chosen:\n\n" + selection_markdown(table, modes)
    with atomic_file(args.markdown) as tmp:
        tmp.write_text(text)
    flat = {f"{pair}.{mode}": row[mode] for pair, row in table.items() for mode in modes if mode in row}
    log_summary_run(params, "dann-table", flat, [args.out, args.markdown])
    print(text)


if __name__ == "__main__":
    run_stage(main)
