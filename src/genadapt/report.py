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
    html_table: str = ""  # an extra pre-rendered table shown before the metrics
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
            (f"t-SNE of test-set latent means, coloured by {params.vae.tsne_by}",
             (Path(generated_dir) / "latent_tsne.png").read_bytes()),
        ],
    )


GAN_FIGURES = {  # file in generated/<model>/ -> caption
    "samples.png": "32 samples from the best EMA generator",
    "pairs.png": "10 pairs from the same z: attribute off (top) and on (bottom)",
    "class_grid.png": "one row per class 0-9, 10 samples each",
    "traversal_categorical.png": "categorical code traversal: one row per code value, same noise per column",
    "traversal_continuous_0.png": "continuous code 0 from -1 (top) to 1 (bottom)",
    "traversal_continuous_1.png": "continuous code 1 from -1 (top) to 1 (bottom)",
}


def gan_section(params: Params, name: str, model_dir: Path, generated_dir: Path, metrics_file: Path) -> Section:
    import torch

    from genadapt.steps.gan import load_generator, training_summary

    cfg = getattr(params, name)
    metrics = json.loads(Path(metrics_file).read_text())
    curves = pd.read_csv(Path(model_dir) / "curves.csv")
    G = load_generator(model_dir, torch.device("cpu"))
    summary = training_summary(model_dir)
    notes = {
        "fd_classifier": f"Frechet distance in the {cfg.dataset} evaluator classifier's feature space, "
                         f"{metrics['generated_n']} generated vs {metrics['real_test_n']} test images (lower is better; not FID)",
        "intended_accuracy": f"evaluator's accuracy on generated images against the intended "
                             f"{'class' if cfg.condition == 'label' else cfg.condition}",
        "evaluator_test_accuracy": "the evaluator's own accuracy on the real test split",
    }
    loss_columns = [c for c in ("loss_d", "loss_g", "d_real", "d_fake", "loss_aux_fake", "loss_info") if c in curves]
    figures = [(f"{name} learning curves", _png_of_figure(learning_curves(curves, loss_columns, f"{name} training")))]
    if "train_fd_classifier" in curves:
        scored = curves.dropna(subset=["train_fd_classifier"])
        figures.append((f"fd_classifier of the EMA generator during training (best at step {summary['best_step']})",
                        _png_of_figure(learning_curves(scored, ["train_fd_classifier"], "quality during training"))))
    for file, caption in GAN_FIGURES.items():
        if (Path(generated_dir) / file).exists():
            figures.append((caption, (Path(generated_dir) / file).read_bytes()))
    return Section(
        title=f"{name} ({cfg.dataset}, {cfg.image_size}x{cfg.image_size})",
        params=flatten(cfg, name),
        metrics=metrics,
        metric_notes=notes,
        architecture=f"{G}\n\n{sum(p.numel() for p in G.parameters()):,} generator parameters",
        figures=figures,
    )


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
