"""DVC stage generate-cyclegan@<name>: translations of the first test images both ways, and their grids."""

from __future__ import annotations

import numpy as np
from PIL import Image

from genadapt.core.outputs import atomic_dir
from genadapt.core.params import Params
from genadapt.core.registry import StagePaths
from genadapt.core.runtime import resolve_device
from genadapt.core.tracking import model_run
from genadapt.families.cyclegan.shared.stored import direction_ends, instance, load_translators, translation_inputs
from genadapt.families.cyclegan.shared.training import translate
from genadapt.figures import save_grid, uint8_batch


def generate(params: Params, name: str, paths: StagePaths) -> None:
    """Translate the first ``n_translate`` test images each way (PNGs), and the grids of
    input / translation / reconstruction (rows of 8) both ways."""
    cfg = instance(params, name)
    pair = load_translators(paths.model, resolve_device(cfg.device))
    with atomic_dir(paths.out) as tmp:
        for direction, ends in direction_ends(cfg, paths).items():
            forward, back = (pair.a_to_b, pair.b_to_a) if direction == "a_to_b" else (pair.b_to_a, pair.a_to_b)
            inputs = translation_inputs(cfg, ends["input"]["data"])
            translated = translate(forward, inputs)
            (tmp / direction).mkdir()
            for i, image in enumerate(translated):
                Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(tmp / direction / f"{i:06d}.png")
            shown = inputs[:8]
            rows = np.concatenate([shown, translate(forward, shown), translate(back, translate(forward, shown))])
            save_grid(uint8_batch(rows), tmp / f"grid_{direction}.png", nrow=len(shown))
    run = model_run(paths.model, "generate")
    for png in sorted(paths.out.glob("*.png")):
        run.log_file(png, "generated")
