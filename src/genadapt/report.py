"""One self-contained HTML report built from the pipeline's outputs (images embedded)."""

from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from genadapt.figures import learning_curves
from genadapt.params import Params, flatten


@dataclass
class Section:
    title: str
    params: dict[str, object]
    metrics: dict[str, object]
    metric_notes: dict[str, str]
    architecture: str = ""
    figures: list[tuple[str, bytes]] = field(default_factory=list)  # (caption, PNG bytes)


def _png_of_figure(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def vae_section(params: Params, model_dir: Path, generated_dir: Path, metrics_file: Path) -> Section:
    import torch

    from genadapt.steps.vae import load_model

    metrics = json.loads(Path(metrics_file).read_text())
    curves = pd.read_csv(Path(model_dir) / "curves.csv")
    model = load_model(model_dir, torch.device("cpu"))
    n_params = sum(p.numel() for p in model.parameters())
    return Section(
        title="VAE",
        params=flatten(params.vae, "vae"),
        metrics=metrics,
        metric_notes={
            "test_mse": f"per-pixel MSE on [0,1], posterior-mean reconstructions, test split, N={metrics['test_n']}",
            "test_n": "images in the test split",
        },
        architecture=f"{model}\n\n{n_params:,} parameters",
        figures=[
            ("Learning curves (per-pixel reconstruction MSE, KL, loss)",
             _png_of_figure(learning_curves(curves, ["recon_mse", "kl", "loss"], "VAE training"))),
            (f"Top: {params.vae.n_reconstructions} test images; bottom: their reconstructions",
             (Path(generated_dir) / "reconstructions.png").read_bytes()),
            (f"{params.vae.n_samples} random samples from the prior", (Path(generated_dir) / "samples.png").read_bytes()),
        ],
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
        parts.append(f"<h2>{html.escape(s.title)}</h2><h3>Metrics</h3>{_table(s.metrics, s.metric_notes)}")
        parts.append(f"<h3>Key parameters</h3>{_table(s.params)}")
        if s.architecture:
            parts.append(f"<details><summary>Architecture</summary><pre>{html.escape(s.architecture)}</pre></details>")
        for caption, png in s.figures:
            data = base64.b64encode(png).decode()
            parts.append(f"<figure><img src='data:image/png;base64,{data}'><figcaption>{html.escape(caption)}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)
