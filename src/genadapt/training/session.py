"""What every train stage does around its loop, written once: the resumable checkpoint, the MLflow
run an interrupted stage reopens, the outputs written atomically, and the curves logged.

    checkpoint = training_checkpoint(paths.checkpoints / f"{name}.ckpt", [cfg, seed, meta, bf16], every)
    run = open_training_run(checkpoint, params, name, run_params)
    with run.failing_on_error():
        model, curves = <the family's loop>(..., checkpoint.with_extra(run_id=run.run_id))
        save_trained(paths, name, run, {"weights": model}, curves)
        close_training(run, checkpoint, paths.curves, curves, Plot(...))
    run.finish()
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from torch import nn

from genadapt.core.outputs import atomic_dir, atomic_file, write_json
from genadapt.core.params import Params
from genadapt.core.registry import StagePaths
from genadapt.core.tracking import ModelRun, resume_or_start_run, start_model_run, write_run_file
from genadapt.core.weights import save_weights
from genadapt.figures import learning_curves
from genadapt.training.checkpointing import Checkpointer, fingerprint


def training_checkpoint(path: Path, identity: list[Any], every: int) -> Checkpointer:
    """The checkpoint of one training run; ``identity`` (the resolved params, seed, data, precision...)
    is fingerprinted so that only the same training resumes from it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return Checkpointer(path, fingerprint(identity), every)


def open_training_run(checkpoint: Checkpointer, params: Params, model: str, run_params: dict[str, object],
                      run_name: str | None = None, tags: dict[str, str] | None = None) -> ModelRun:
    """The MLflow run an interrupted stage had opened (its id travels in the checkpoint), reopened,
    or a new one."""
    return resume_or_start_run(checkpoint.peek_extra().get("run_id"), checkpoint.peek_step(),
                               lambda: start_model_run(params, model, run_params, run_name=run_name, tags=tags))


def save_trained(paths: StagePaths, name: str, run: ModelRun, weights: dict[str, nn.Module], curves: pd.DataFrame,
                 summary: dict | None = None) -> None:
    """The train stage's outputs, each written whole or not at all: the weights (file name -> network
    with a ``cfg``), ``training_summary.json``, the run file (the MLflow run generate and evaluate log
    into) and the per-step curves CSV of ``dvc plots``."""
    with atomic_dir(paths.out) as tmp:
        for file, network in weights.items():
            save_weights(network, network.cfg.to_dict(), tmp, file)
        if summary is not None:
            write_json(tmp / "training_summary.json", summary)
        write_run_file(tmp, run.run_id, name)
    with atomic_file(paths.curves) as tmp:
        curves.to_csv(tmp, index=False)


@dataclass(frozen=True)
class Plot:
    """A figure of the curves' ``columns`` (those present), logged to the run as ``artifact``."""

    columns: list[str]
    title: str
    artifact: str
    scored_rows: bool = False  # only the rows where the first column has a value (validation scores)


def log_plots(run: ModelRun, curves: pd.DataFrame, plots: list[Plot]) -> None:
    for plot in plots:
        columns = [c for c in plot.columns if c in curves]
        if columns:
            rows = curves.dropna(subset=[columns[0]]) if plot.scored_rows else curves
            run.log_figure(learning_curves(rows, columns, plot.title), plot.artifact)


def close_training(run: ModelRun, checkpoint: Checkpointer, curves_file: Path, curves: pd.DataFrame, plots: list[Plot],
                   summary: dict | None = None) -> None:
    """After the outputs are written: the checkpoint goes, the curves (figures and CSV) and the
    summary's figures go to the run."""
    checkpoint.remove()
    log_plots(run, curves, plots)
    run.log_file(curves_file, "curves")
    if summary is not None:
        run.log_metrics({k: v for k, v in summary.items() if v is not None})
