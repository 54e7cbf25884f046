"""The adaptation families' part of the report: per pair, each method's target test accuracy under
the three selection rules, and the t-SNE of the features before and after alignment."""

from __future__ import annotations

import json

from genadapt.core.params import Params, flatten
from genadapt.core.registry import instance_paths
from genadapt.metrics.intervals import wilson_interval
from genadapt.sections import Headline, Section

STUDY = "Domain adaptation: target test accuracy per pair (methods as columns)"
# The course reports' target test accuracies (real digits; report 001), beside ours.
COURSE = {("svhn", "mnistm"): {"source_only": 0.4563, "dann": 0.4717, "target_only": 0.9561},
          ("mnistm", "usps"): {"source_only": 0.7154, "dann": 0.7947, "target_only": 0.9671},
          ("usps", "svhn"): {"source_only": 0.2571, "dann": 0.2809, "target_only": 0.9172}}
RULES = (("last", "(a) last step"), ("unsupervised", "(b) unsupervised (information maximisation)"),
         ("", "(c) labelled validation"))  # "": the mode's own key, the weights chosen on labelled validation


def _value(metrics: dict, key: str) -> str:
    spread = f" ± {metrics[f'{key}.std']:.3f}" if metrics["seeds"] > 1 else ""
    return f"{metrics[key]:.3f}{spread}"


def selection_markdown(name: str, metrics: dict, modes: list[str]) -> str:
    """Target test accuracy of each mode under the three selection rules (families/adapt/shared/loop.py SELECTIONS)."""
    lines = [f"| pair | mode | {' | '.join(label for _, label in RULES)} | target test N | unlabelled / labelled val N | seeds |",
             "|---|---|---|---|---|---|---|---|"]
    for mode in modes:
        cells = " | ".join(_value(metrics, f"{mode}.{rule}" if rule else mode) for rule, _ in RULES)
        lines.append(f"| {name} | {mode} | {cells} | {metrics['target_test_n']} | "
                     f"{metrics['target_val_unlabelled_n']} / {metrics['target_val_n']} | {metrics['seeds']} |")
    return "\n".join(lines) + "\n"


def _html_table(name: str, metrics: dict, modes: list[str]) -> str:
    header = "".join(f"<th>{label}</th>" for _, label in RULES)
    rows = "".join(f"<tr><td>{mode}</td>" + "".join(f"<td>{_value(metrics, f'{mode}.{rule}' if rule else mode)}</td>"
                                                   for rule, _ in RULES) + f"<td>{metrics[f'val.{mode}']:.3f}</td></tr>"
                   for mode in modes)
    return (f"<p>{name}: target test accuracy (N {metrics['target_test_n']}) of the weights each rule keeps: (a) the "
            f"last step, (b) the best information maximisation on {metrics['target_val_unlabelled_n']} unlabelled target "
            f"validation images, (c) the best accuracy on {metrics['target_val_n']} labelled ones (the headline); mean "
            f"± std over {metrics['seeds']} seed(s). source_only is the lower bound, target_only the upper bound.</p>"
            f"<table><tr><th>mode</th>{header}<th>labelled val accuracy</th></tr>{rows}</table>")


def report_section(params: Params, name: str) -> Section:
    family, cfg = params.instance(name)
    paths = instance_paths(family, name, cfg.source, cfg.target)
    metrics = json.loads(paths.out.read_text())
    data = params.data.get(cfg.target).source
    how = f" via {cfg.translator}" if getattr(cfg, "translator", None) else ""
    fmt = f"{'grey' if cfg.channels == 1 else 'RGB'}{', source + negatives' if cfg.invert_source else ''}"
    task = f"{cfg.source} -> {cfg.target}{how} ({data}, {fmt})"
    n = metrics["target_test_n"]
    headlines = []
    for mode in cfg.methods:
        if metrics["seeds"] > 1:
            spread = f"± {metrics[f'{mode}.std']:.3f} (std over {metrics['seeds']} seeds)"
        else:
            low, high = wilson_interval(round(metrics[mode] * n), n)
            spread = f"95% CI [{low:.3f}, {high:.3f}]"
        course = COURSE.get((cfg.source, cfg.target), {}).get(mode)
        headlines.append(Headline(name, task, mode, f"{metrics[mode]:.3f}", f"{n} target test (chosen on {metrics['target_val_n']} val)",
                                  spread, f"{course:.3f} (real digits, report 001)" if course else ""))
    figures = [(f"{name}: t-SNE of {mode} features (left by class, right by domain)", path.read_bytes())
               for mode in cfg.methods if (path := paths.generated / f"tsne_{mode}.png").exists()]
    return Section(title=f"{name} (domain adaptation, {task})", params=flatten(cfg, name), metrics=metrics,
                   metric_notes={mode: f"accuracy on the target's test split, N={n}" for mode in cfg.methods},
                   html_table=_html_table(name, metrics, list(cfg.methods)), figures=figures, headlines=headlines, study=STUDY)
