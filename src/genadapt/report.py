"""One self-contained HTML report built from the pipeline's outputs (images embedded)."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from genadapt.core.cli import format_seconds
from genadapt.sections import Headline, Section, png_of_figure


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


def _headline_cell(h: Headline) -> str:
    detail = ", ".join(x for x in (f"N {h.n}", h.uncertainty) if x)
    course = f"<br><small>course: {html.escape(h.course)}</small>" if h.course else ""
    return f"<b>{html.escape(h.value)}</b><br><small>{html.escape(detail)}</small>{course}"


def _thumbnail(png: bytes) -> str:
    return f"<img class='thumb' src='data:image/png;base64,{base64.b64encode(png).decode()}'>" if png else ""


def summary_table(sections: list[Section], study: str = "") -> str:
    """One row per model and task: its thumbnail, then its headline figures as columns, each with N
    and uncertainty (and the course reports' figure where there is one); the sections of ``study`` only."""
    rows: dict[tuple[str, str], dict[str, Headline]] = {}
    thumbnails: dict[tuple[str, str], bytes] = {}
    for s in sections:
        if s.study != study:
            continue
        for h in s.headlines:
            rows.setdefault((h.model, h.task), {})[h.metric] = h
            thumbnails[(h.model, h.task)] = s.thumbnails.get(h.task, b"")
    if not rows:
        return ""
    columns = list(dict.fromkeys(metric for row in rows.values() for metric in row))
    header = "".join(f"<th>{html.escape(c)}</th>" for c in ("model", "task (data)", "samples", *columns))
    body = "".join(
        f"<tr><td>{html.escape(model)}</td><td>{html.escape(task)}</td><td>{_thumbnail(thumbnails[(model, task)])}</td>"
        + "".join(f"<td>{_headline_cell(row[c]) if c in row else ''}</td>" for c in columns) + "</tr>"
        for (model, task), row in rows.items())
    return f"<table class='summary'><tr>{header}</tr>{body}</table>"


def inception_plot(sections: list[Section]) -> bytes:
    """FID and KID per model and task (bars labelled with the sets' N): a picture of the table's columns."""
    from genadapt.figures import plt  # matplotlib set up once, without a display

    rows = [(f"{h.model}\n{h.task.split(',', 1)[0]}", h) for s in sections for h in s.headlines if h.metric in ("FID", "KID")]
    if not rows:
        return b""
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.45 * len(rows) / 2 + 1.5), squeeze=False)
    for ax, metric in zip(axes[0], ("FID", "KID")):
        picked = [(label, h) for label, h in rows if h.metric == metric]
        ax.barh([label for label, _ in picked], [float(h.value) for _, h in picked], color="#4c72b0")
        for i, (_, h) in enumerate(picked):
            ax.text(float(h.value), i, f" {h.value} (N {h.n})", va="center", fontsize=7)
        ax.set_title(f"{metric} against the real test split (lower is better)", fontsize=9)
        ax.invert_yaxis()
        ax.tick_params(labelsize=7)
        ax.margins(x=0.45)
    fig.tight_layout()
    png = png_of_figure(fig)
    plt.close(fig)
    return png


def stage_times_table(times: list[dict], top: int = 10) -> str:
    """The slowest stages of the last runs (logs/stage_times: wall time per stage, imports included)."""
    if not times:
        return ""
    slowest = sorted(times, key=lambda t: -t["seconds"])[:top]
    total = sum(t["seconds"] for t in times)
    body = "".join(f"<tr><td>{html.escape(t['stage'])}</td><td>{format_seconds(t['seconds'])}</td>"
                   f"<td>{100 * t['seconds'] / total:.0f}%</td><td>{html.escape(t['finished'])}</td></tr>" for t in slowest)
    return (f"<h3>Where the time went: the {len(slowest)} slowest of {len(times)} stages (all: {format_seconds(total)})</h3>"
            "<table><tr><th>stage</th><th>wall time</th><th>share</th><th>finished</th></tr>" + body + "</table>"
            "<p><small>Each stage's last run, as recorded in logs/stage_times/ (imports included).</small></p>")


def read_stage_times(folder: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(Path(folder).glob("*.json"))] if Path(folder).is_dir() else []


def render_html(sections: list[Section], stage_times: list[dict] = ()) -> str:
    """The summary first (a row per model, a table per study, a FID/KID plot, the slowest stages),
    then one part per section with the long per-metric lists folded."""
    plot = inception_plot(sections)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>genadapt report</title>",
        "<style>body{font-family:sans-serif;max-width:1200px;margin:auto}td,th{padding:2px 10px;border-bottom:1px solid #ddd;"
        "text-align:left;vertical-align:top}img{max-width:100%;image-rendering:pixelated}img.thumb{width:96px}"
        "pre{background:#f6f6f6;padding:8px;font-size:11px;overflow:auto}</style>",
        "</head><body><h1>genadapt pipeline report</h1><h2>Summary</h2>",
        summary_table(sections),
        "<p>Course-report figures are for the real datasets at full size on a GPU; each row says which data ours come from.</p>",
        *[f"<h3>{html.escape(study)}</h3>" + summary_table(sections, study)
          for study in dict.fromkeys(s.study for s in sections if s.study)],
        (f"<figure><img src='data:image/png;base64,{base64.b64encode(plot).decode()}'><figcaption>FID and KID per model "
         "and task, with the sets' N</figcaption></figure>") if plot else "",
        stage_times_table(list(stage_times)),
    ]
    for s in sections:
        parts.append(f"<h2>{html.escape(s.title)}</h2>{s.html_table}<details><summary>Metrics ({len(s.metrics)})</summary>"
                     f"{_table(s.metrics, s.metric_notes)}</details>")
        if s.params:  # folded: long, and the summary above is what a reader looks for first
            parts.append(f"<details><summary>Parameters ({len(s.params)})</summary>{_table(s.params)}</details>")
        if s.architecture:
            parts.append(f"<details><summary>Architecture</summary><pre>{html.escape(s.architecture)}</pre></details>")
        for caption, png in s.figures:
            data = base64.b64encode(png).decode()
            parts.append(f"<figure><img src='data:image/png;base64,{data}'><figcaption>{html.escape(caption)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)
