"""DVC stage evaluate-gan@<name>: fd_classifier, the Inception metrics and the kind's own metrics
of the generated set against the test split."""

from __future__ import annotations

import pandas as pd

from genadapt.core.outputs import write_json
from genadapt.core.params import Params
from genadapt.core.registry import StagePaths
from genadapt.core.runtime import resolve_device
from genadapt.core.tracking import (
    model_run,
)
from genadapt.data.format.prepared import load_split
from genadapt.data.image_files import read_images
from genadapt.evaluator.scoring import Evaluator
from genadapt.families.gan.kinds import get_kind
from genadapt.families.gan.shared.stored import instance
from genadapt.metrics.frechet import frechet_distance
from genadapt.metrics.inception.reference import inception_protocol, score_against_reference


def evaluate(params: Params, name: str, paths: StagePaths) -> dict:
    """fd_classifier of the generated set against the test split; ACGAN: accuracy of the evaluator
    on generated images against their intended class/attribute. The evaluator's own test accuracy
    is recorded beside them."""
    cfg = instance(params, name)
    kind = get_kind(cfg.kind)
    generated_dir, data_dir, evaluator_dir, model_dir, out_file = paths.generated, paths.data, paths.evaluator, paths.model, paths.out
    device = resolve_device(cfg.device)
    evaluator = Evaluator(evaluator_dir, device)
    table = pd.read_csv(generated_dir / "images.csv")
    generated = read_images([generated_dir / "images" / n for n in table["image_id"]], "RGB" if cfg.channels == 3 else "L")
    test = load_split(data_dir, "test")
    metrics = {
        "fd_classifier": frechet_distance(evaluator.features(generated), evaluator.features(test.images)),
        "generated_n": len(generated),
        "real_test_n": len(test.images),
    }
    inception, ref_info = score_against_reference(params.evaluate, generated, paths.reference)
    metrics.update(inception)
    metrics.update(kind.extra_metrics(cfg, evaluator, generated, table))
    write_json(out_file, metrics)
    run = model_run(model_dir, "evaluate")
    run.log_metrics(metrics)
    run.set_tags({"inception.protocol": inception_protocol(metrics, ref_info)})
    run.set_tags({"fd_classifier.protocol": f"Frechet distance in the {evaluator.info['dataset']} evaluator classifier's "
                  f"feature space, {len(generated)} generated vs {len(test.images)} test images (not FID)"})
    return metrics

