"""DVC stage evaluate-gan@<name>: fd_classifier, the Inception metrics and the kind's own metrics
of the generated set against the test split."""

from __future__ import annotations

import numpy as np
import pandas as pd

from genadapt.core.outputs import write_json
from genadapt.core.params import Params
from genadapt.core.runtime import resolve_device
from genadapt.core.tracking import (
    model_run,
)
from genadapt.data.image_files import read_images
from genadapt.data.prepared import load_split
from genadapt.evaluator import Evaluator
from genadapt.families import StagePaths
from genadapt.families.gan.kinds import get_kind
from genadapt.families.gan.stored import instance
from genadapt.metrics.frechet import frechet_distance
from genadapt.metrics.inception import inception_metrics
from genadapt.metrics.inception_reference import check_same_weights, feature_extractor, read_reference, resolve_inception


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
    ref_pool, ref_info = read_reference(paths.reference)
    if ref_pool is not None:
        weights = check_same_weights(resolve_inception(params.evaluate)[0], ref_info, paths.reference)
        rgb = generated if generated.shape[-1] == 3 else np.repeat(generated, 3, axis=-1)
        gen_pool, gen_logits = feature_extractor(params.evaluate, weights)(rgb)
        metrics.update(inception_metrics(gen_pool, gen_logits, ref_pool, params.evaluate.kid_subset_size))
        metrics["inception_available"] = 1
    else:
        metrics["inception_available"] = 0  # FID, IS, KID, precision/recall not computed: see the run's tag
    metrics.update(kind.extra_metrics(cfg, evaluator, generated, table))
    write_json(out_file, metrics)
    run = model_run(model_dir, "evaluate")
    run.log_metrics(metrics)
    run.set_tags({"inception.protocol": inception_protocol(metrics, ref_info)})
    run.set_tags({"fd_classifier.protocol": f"Frechet distance in the {evaluator.info['dataset']} evaluator classifier's "
                  f"feature space, {len(generated)} generated vs {len(test.images)} test images (not FID)"})
    return metrics


def inception_protocol(metrics: dict, ref_info: dict) -> str:
    """How the Inception metrics were obtained (or why not), in one line for the run's tag and the report."""
    if not metrics["inception_available"]:
        return f"unavailable: {ref_info['reason']}"
    weights = ref_info["weights"]
    score = "IS from the logits head" if metrics["is_available"] else "no IS (these weights have no logits head)"
    return (f"FID (pytorch-fid formula), KID ({metrics['kid_subset_size']}-image subsets) and precision/recall "
            f"(torch-fidelity) on FID Inception pool features ({weights['format']}, {weights['digest'][:14]}, "
            f"{'bf16' if ref_info.get('bf16') else 'float32'}; pytorch-fid preprocessing), {metrics['generated_n']} generated vs "
            f"{ref_info['n']} {ref_info['split']} images; {score}")
