"""The domain-adaptation table: per pair, each mode's target accuracy (mean ± std over seeds), from
the train-dann stages' metrics files. No torch: the dann-table and report stages read it."""

from __future__ import annotations

import json
from pathlib import Path

from genadapt.core.errors import PipelineError

SELECTION_KEYS = ("last", "unsupervised")  # beside the labelled choice, the mode's own key


def _mode_values(values: dict, modes) -> dict:
    rules = [f"{m}.{rule}" for m in modes for rule in SELECTION_KEYS if f"{m}.{rule}" in values]
    return ({m: values[m] for m in modes} | {f"{m}.std": values[f"{m}.std"] for m in modes}
            | {f"val.{m}": values[f"val.{m}"] for m in modes}
            | {k: values[k] for k in rules} | {f"{k}.std": values[f"{k}.std"] for k in rules})


def accuracy_table(metrics_files: list[Path], modes: tuple[str, ...], pixel_files: list[Path] = (),
                   pixel_modes: tuple[str, ...] = ()) -> dict[str, dict]:
    """pair -> {mode: target test accuracy (mean over seeds), '<mode>.std', 'val.<mode>': target
    validation accuracy, target_test_n, target_val_n, seeds} from the per-pair metrics files; a
    pair's pixel-level modes are added from its file among ``pixel_files`` (same stem)."""
    table = {}
    for path in sorted(metrics_files):
        if not path.exists():
            raise PipelineError(f"{path}: not found; run the train-dann stages first")
        values = json.loads(path.read_text())
        table[path.stem] = _mode_values(values, modes) | {k: values[k] for k in ("target_test_n", "target_val_n", "seeds")}
        table[path.stem]["target_val_unlabelled_n"] = values.get("target_val_unlabelled_n", values["target_val_n"])
    for path in pixel_files:
        if path.stem not in table:
            raise PipelineError(f"{path}: pair {path.stem!r} has no train-dann metrics")
        if not path.exists():
            raise PipelineError(f"{path}: not found; run the train-dann-pixel stages first")
        table[path.stem] |= _mode_values(json.loads(path.read_text()), pixel_modes)
    return table


def cell(row: dict, mode: str) -> str:
    """'0.804 (0.790)' for one seed, '0.804 ± 0.012 (0.790)' for several: test (validation); '—'
    for a mode the pair did not train (pixel modes without a translator)."""
    if mode not in row:
        return "—"
    spread = f" ± {row[f'{mode}.std']:.3f}" if row["seeds"] > 1 else ""
    return f"{row[mode]:.3f}{spread} ({row[f'val.{mode}']:.3f})"


def markdown_table(table: dict[str, dict], modes: tuple[str, ...]) -> str:
    """Target test accuracy per mode (mean ± std over seeds when several) with, in brackets, the
    validation accuracy that settings are chosen by."""
    lines = [f"| pair | {' | '.join(f'{m} test (val)' for m in modes)} | target test N | target val N | seeds |",
             f"|---|{'---|' * (len(modes) + 3)}"]
    for pair, row in table.items():
        cells = " | ".join(cell(row, m) for m in modes)
        lines.append(f"| {pair} | {cells} | {row['target_test_n']} | {row['target_val_n']} | {row['seeds']} |")
    return "\n".join(lines) + "\n"


def _value(row: dict, key: str) -> str:
    spread = f" ± {row[f'{key}.std']:.3f}" if row["seeds"] > 1 else ""
    return f"{row[key]:.3f}{spread}"


def selection_markdown(table: dict[str, dict], modes: tuple[str, ...]) -> str:
    """Target test accuracy of each mode under the three selection rules (genadapt.adaptation.loop.SELECTIONS):
    (a) the last step, (b) the unsupervised criterion on unlabelled validation images, (c) labelled validation."""
    lines = ["| pair | mode | (a) last step | (b) unsupervised (information maximisation) | (c) labelled validation |"
             " target test N | unlabelled / labelled val N | seeds |", "|---|---|---|---|---|---|---|---|"]
    for pair, row in table.items():
        for mode in modes:
            if f"{mode}.last" not in row:
                continue
            lines.append(f"| {pair} | {mode} | {_value(row, f'{mode}.last')} | {_value(row, f'{mode}.unsupervised')} | "
                         f"{_value(row, mode)} | {row['target_test_n']} | {row['target_val_unlabelled_n']} / "
                         f"{row['target_val_n']} | {row['seeds']} |")
    return "\n".join(lines) + "\n"
