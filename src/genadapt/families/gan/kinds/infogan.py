"""InfoGAN (Chen et al. 2016): G(z, categorical code, continuous codes); a Q head sharing D's
trunk predicts the codes, and G and Q maximise their mutual information (``info_weight``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from pydantic import model_validator

from genadapt.core.params import count, real
from genadapt.families.gan.shared.kind import DiscriminatorResult, GANKind
from genadapt.families.gan.shared.latent import Latent, generate_images, sample_latent
from genadapt.families.gan.shared.model import GANConfig
from genadapt.families.gan.shared.params import GANParams
from genadapt.figures import save_grid, uint8_batch


class InfoGANParams(GANParams):
    kind: Literal["infogan"]
    n_categorical: count(ge=0) = 10  # size of the categorical code (digit-like)
    n_continuous: count(ge=0) = 2  # continuous codes in [-1, 1]
    info_weight: real(ge=0.0) = 1.0  # weight of the mutual-information loss

    @model_validator(mode="after")
    def _codes(self):
        if self.n_categorical + self.n_continuous == 0:
            raise ValueError("InfoGAN needs n_categorical or n_continuous > 0")
        return self


class InfoGAN(GANKind):
    name = "infogan"
    Params = InfoGANParams
    loss_columns = GANKind.loss_columns + ("loss_info",)
    figures = GANKind.figures | {
        "traversal_categorical.png": "categorical code traversal: one row per code value, same noise per column",
        "traversal_continuous_0.png": "continuous code 0 from -1 (top) to 1 (bottom)",
        "traversal_continuous_1.png": "continuous code 1 from -1 (top) to 1 (bottom)",
    }

    def net_config(self, cfg: InfoGANParams, n_classes: int) -> GANConfig:
        return GANConfig(image_size=cfg.image_size, channels=cfg.channels, nz=cfg.nz, ngf=cfg.ngf, ndf=cfg.ndf,
                         n_categorical=cfg.n_categorical, n_continuous=cfg.n_continuous)

    def g_terms(self, cfg: InfoGANParams, out: dict, latent: Latent, last_d: DiscriminatorResult, row: dict) -> torch.Tensor:
        device = out["adv"].device
        loss_info = torch.zeros((), device=device)
        if cfg.n_categorical:
            loss_info = loss_info + F.cross_entropy(out["cat"].float(), latent.categorical.to(device))
        if cfg.n_continuous:
            # Gaussian log-likelihood with unit variance, up to a constant.
            loss_info = loss_info + 0.5 * ((out["cont"].float() - latent.continuous.to(device)) ** 2).sum(1).mean()
        row["loss_info"] = loss_info.item()
        return cfg.info_weight * loss_info

    def extra_figures(self, G, cfg: InfoGANParams, seeded: torch.Generator, out: Path) -> None:
        """One grid per code: one row per code value, the same 10 noise vectors in every row."""
        net_cfg, n_cols = G.cfg, 10
        base = sample_latent(net_cfg, n_cols, seeded)
        if net_cfg.n_categorical:
            rows = []
            for value in range(net_cfg.n_categorical):
                cat = torch.full((n_cols,), value, dtype=torch.long)
                latent = sample_latent(net_cfg, n_cols, seeded, categorical=cat, continuous=base.continuous)
                latent.vector[:, : net_cfg.nz] = base.vector[:, : net_cfg.nz]
                rows.append(generate_images(G, latent.vector))
            save_grid(uint8_batch(np.concatenate(rows)), out / "traversal_categorical.png", nrow=n_cols)
        for code in range(net_cfg.n_continuous):
            rows = []
            for value in np.linspace(-1, 1, 7):
                continuous = base.continuous.clone()
                continuous[:, code] = float(value)
                latent = sample_latent(net_cfg, n_cols, seeded, categorical=base.categorical, continuous=continuous)
                latent.vector[:, : net_cfg.nz] = base.vector[:, : net_cfg.nz]
                rows.append(generate_images(G, latent.vector))
            save_grid(uint8_batch(np.concatenate(rows)), out / f"traversal_continuous_{code}.png", nrow=n_cols)


KIND = InfoGAN()
