"""The domain-adaptation table: per pair, each mode's target accuracy (mean ± std over seeds), from
the train-dann stages' metrics files. No torch: the dann-table and report stages read it."""

from __future__ import annotations

import json
from pathlib import Path

from genadapt.errors import PipelineError


def _mode_values(values: dict, modes) -> dict:
    return ({m: values[m] for m in modes} | {f"{m}.std": values[f"{m}.std"] for m in modes}
            | {f"val.{m}": values[f"val.{m}"] for m in modes})


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
