"""One self-contained HTML report built from the pipeline's outputs (images embedded)."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from genadapt.params import Params, flatten
from genadapt.sections import Section


def classifier_section(metrics_dir: Path) -> Section:
    metrics, notes = {}, {}
    for path in sorted(Path(metrics_dir).glob("*.json")):
        values = json.loads(path.read_text())
        for key, value in values.items():
            if key != "test_n":
                metrics[f"{path.stem} {key}"] = value
                notes[f"{path.stem} {key}"] = f"test split, N={values['test_n']}"
    return Section(title="Evaluator classifiers", params={}, metrics=metrics, metric_notes=notes)


def dann_section(params: Params, table_file: Path, figures_root: Path) -> Section:
    """The domain-adaptation study: accuracy table plus before/after t-SNE per pair."""
    table = json.loads(Path(table_file).read_text())
    modes = params.dann.modes
    metrics, notes = {}, {}
    for pair, row in table.items():
        for mode in modes:
            metrics[f"{pair} {mode}"] = row[mode]
            notes[f"{pair} {mode}"] = f"accuracy on the target's test split, N={row['target_test_n']}"
    figures = []
    for pair in table:
        for mode in ("source_only", "dann"):
            path = Path(figures_root) / pair / f"tsne_{mode}.png"
            if path.exists():
                figures.append((f"{pair}: t-SNE of {mode} features (left by class, right by domain)", path.read_bytes()))
    def label(pair: str) -> str:  # the pair's input format, from params
        known = params.dann.pairs.get(pair)
        if not known:
            return pair
        return f"{pair} ({'grey' if known.channels == 1 else 'RGB'}{', source + negatives' if known.invert_source else ''})"

    rows = "".join(
        f"<tr><td>{html.escape(label(pair))}</td>" + "".join(f"<td>{row[m]:.3f}</td>" for m in modes)
        + f"<td>{row['target_test_n']}</td></tr>"
        for pair, row in table.items()
    )
    header = "<tr><th>pair (source-target)</th>" + "".join(f"<th>{html.escape(m)}</th>" for m in modes) + "<th>target test N</th></tr>"
    return Section(
        title="Domain adaptation (DANN)",
        params={k: v for k, v in flatten(params.dann, "dann").items() if k != "dann.pairs"},
        metrics=metrics,
        metric_notes=notes,
        html_table=(
            "<p>Target test accuracy: source_only is the lower bound, target_only the upper bound; dann is "
            "DANN, dann_st DANN plus mean-teacher self-training, cdan_e CDAN+E.</p>"
            f"<table>{header}{rows}</table>"
        ),
        figures=figures,
    )


def _table(rows: dict[str, object], notes: dict[str, str] | None = None) -> str:
    notes = notes or {}
    cells = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(_fmt(v))}</td>"
        f"<td>{html.escape(notes.get(k, ''))}</td></tr>"
        for k, v in rows.items()
    )
    return f"<table>{cells}</table>"


def _fmt(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def render_html(sections: list[Section]) -> str:
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>genadapt report</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}td{padding:2px 10px;border-bottom:1px solid #ddd}"
        "img{max-width:100%;image-rendering:pixelated}pre{background:#f6f6f6;padding:8px;font-size:11px;overflow:auto}</style>",
        "</head><body><h1>genadapt pipeline report</h1>",
    ]
    for s in sections:
        parts.append(f"<h2>{html.escape(s.title)}</h2>{s.html_table}<h3>Metrics</h3>{_table(s.metrics, s.metric_notes)}")
        parts.append(f"<h3>Key parameters</h3>{_table(s.params)}")
        if s.architecture:
            parts.append(f"<details><summary>Architecture</summary><pre>{html.escape(s.architecture)}</pre></details>")
        for caption, png in s.figures:
            data = base64.b64encode(png).decode()
            parts.append(f"<figure><img src='data:image/png;base64,{data}'><figcaption>{html.escape(caption)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)
