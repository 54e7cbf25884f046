"""DVC stage evaluate-vae@<name>: reconstruction MSE on the test split."""

from __future__ import annotations

from genadapt.core.outputs import write_json
from genadapt.core.params import Params
from genadapt.core.registry import StagePaths
from genadapt.core.runtime import resolve_device
from genadapt.core.tracking import model_run
from genadapt.data.format.prepared import load_split
from genadapt.families.vae.shared.stored import load_model
from genadapt.metrics.reconstruction import reconstruction_mse


def evaluate(params: Params, name: str, paths: StagePaths) -> dict:
    """Test-set reconstruction MSE, per-pixel mean on [0, 1], over the whole test split."""
    model_dir, data_dir, out_file = paths.model, paths.data, paths.out
    device = resolve_device(params.instance(name)[1].device)
    model = load_model(model_dir, device)
    test = load_split(data_dir, "test")
    mse = reconstruction_mse(model, test.images, device)
    metrics = {"test_mse": mse, "test_n": len(test.images)}
    write_json(out_file, metrics)
    run = model_run(model_dir, "evaluate")
    run.log_metrics({"test_mse": mse, "test_n": len(test.images)})
    run.set_tags({"test_mse.protocol": "per-pixel mean squared error on [0,1], posterior-mean reconstructions, whole test split"})
    return metrics
