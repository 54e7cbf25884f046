"""The report's section on the evaluator classifiers: each one's validation and test accuracy, with N."""

from __future__ import annotations

import json
from pathlib import Path

from genadapt.sections import Section


def classifier_section(metrics_dir: Path) -> Section:
    metrics, notes = {}, {}
    for path in sorted(Path(metrics_dir).glob("*.json")):
        values = json.loads(path.read_text())
        for key, value in values.items():
            if key.startswith("test_") and key != "test_n":
                metrics[f"{path.stem} {key}"] = value
                notes[f"{path.stem} {key}"] = f"test split, N={values['test_n']} (weights chosen at step {values['chosen_step']})"
            elif key.startswith("val_") and key != "val_n":
                metrics[f"{path.stem} {key}"] = value
                notes[f"{path.stem} {key}"] = f"validation split, N={values['val_n']}: chose the weights"
    return Section(title="Evaluator classifiers", params={}, metrics=metrics, metric_notes=notes)
