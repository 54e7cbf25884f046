"""DVC stage generate-gan@<name>: sample grids and the evaluated set of PNGs from the trained generator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from genadapt.core.outputs import atomic_dir
from genadapt.core.params import Params
from genadapt.core.registry import StagePaths
from genadapt.core.runtime import resolve_device
from genadapt.core.tracking import (
    model_run,
)
from genadapt.families.gan.kinds import get_kind
from genadapt.families.gan.shared.latent import generate_images, sample_latent
from genadapt.families.gan.shared.stored import instance, load_generator
from genadapt.figures import save_grid, uint8_batch


def _save_pngs(images: np.ndarray, folder: Path) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i, image in enumerate(images):
        names.append(f"{i:06d}.png")
        Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(folder / names[-1])
    return names


def generate(params: Params, name: str, paths: StagePaths) -> None:
    """Sample grids plus ``n_generate`` PNGs from fixed seeds (with their intended labels for ACGAN)."""
    cfg = instance(params, name)
    kind = get_kind(cfg.kind)
    model_dir, out_dir = paths.model, paths.out
    device = resolve_device(cfg.device)
    G = load_generator(model_dir, device)
    net_cfg = G.cfg
    seeded = torch.Generator().manual_seed(params.seed)
    with atomic_dir(out_dir) as tmp:
        # The evaluated set: latent i is drawn from seed (seed, i) order, the same for every run.
        latent = sample_latent(net_cfg, cfg.n_generate, torch.Generator().manual_seed(params.seed + 2))
        names = _save_pngs(generate_images(G, latent.vector), tmp / "images")
        pd.DataFrame({"image_id": names, **kind.generated_columns(cfg, latent)}).to_csv(tmp / "images.csv", index=False)
        save_grid(uint8_batch(generate_images(G, sample_latent(net_cfg, 32, seeded).vector)), tmp / "samples.png", nrow=8)
        kind.extra_figures(G, cfg, seeded, tmp)
    run = model_run(model_dir, "generate")
    for png in sorted(out_dir.glob("*.png")):
        run.log_file(png, "generated")
