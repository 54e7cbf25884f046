"""The DCGAN family (Radford et al. 2016, https://arxiv.org/abs/1511.06434) and its conditioned variants.

One generator and one discriminator serve three models:

- DCGAN: G(z), D(x) -> real/fake logit.
- ACGAN (Odena et al. 2017): G(z, one-hot class), D(x) -> real/fake logit + class logits (auxiliary head).
- InfoGAN (Chen et al. 2016): G(z, categorical code one-hot, continuous codes), D(x) -> real/fake logit,
  and a Q head sharing D's trunk -> categorical logits + continuous code means.

Both networks follow the DCGAN recipe: transposed convolutions doubling the size from 4x4, batch
norm, ReLU in G and LeakyReLU(0.2) in D, tanh output in [-1, 1], weights from N(0, 0.02).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class GANConfig:
    image_size: int = 64  # power of two >= 16
    channels: int = 3
    nz: int = 100  # noise dimension
    ngf: int = 64  # generator width at the last hidden layer (doubled towards 4x4)
    ndf: int = 64  # discriminator width at the first layer (doubled towards 4x4)
    n_classes: int = 0  # ACGAN: classes of the one-hot condition and the auxiliary head
    n_categorical: int = 0  # InfoGAN: size of the categorical code
    n_continuous: int = 0  # InfoGAN: number of continuous codes in [-1, 1]

    @property
    def n_up(self) -> int:
        n = math.log2(self.image_size / 4)
        if self.image_size < 16 or n != int(n):
            raise ValueError(f"GAN image_size must be a power of two >= 16, got {self.image_size}")
        return int(n)

    @property
    def latent_dim(self) -> int:
        """Generator input size: noise + condition + codes."""
        return self.nz + self.n_classes + self.n_categorical + self.n_continuous

    def to_dict(self) -> dict:
        return asdict(self)


def weights_init(module: nn.Module) -> None:
    """DCGAN initialisation: conv weights N(0, 0.02), batch-norm scale N(1, 0.02) and bias 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class Generator(nn.Module):
    def __init__(self, cfg: GANConfig):
        super().__init__()
        self.cfg = cfg
        widths = [cfg.ngf * 2 ** i for i in reversed(range(cfg.n_up))]  # 64px, ngf=64: 512, 256, 128, 64
        layers = [
            # (B, latent, 1, 1) -> (B, widths[0], 4, 4)
            nn.ConvTranspose2d(cfg.latent_dim, widths[0], 4, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]),
            nn.ReLU(True),
        ]
        for in_ch, out_ch in zip(widths, widths[1:]):
            # each block doubles H and W: 4 -> 8 -> 16 -> 32
            layers += [nn.ConvTranspose2d(in_ch, out_ch, 4, 2, 1, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU(True)]
        # (B, ngf, S/2, S/2) -> (B, C, S, S) in [-1, 1]
        layers += [nn.ConvTranspose2d(widths[-1], cfg.channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(weights_init)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) -> (B, C, S, S) in [-1, 1]."""
        return self.net(latent[:, :, None, None])


class Discriminator(nn.Module):
    def __init__(self, cfg: GANConfig):
        super().__init__()
        self.cfg = cfg
        widths = [cfg.ndf * 2 ** i for i in range(cfg.n_up)]  # 64px, ndf=64: 64, 128, 256, 512
        layers, in_ch = [], cfg.channels
        for i, out_ch in enumerate(widths):
            # each block halves H and W: S -> S/2 -> ... -> 4; no batch norm on the input layer
            layers += [nn.Conv2d(in_ch, out_ch, 4, 2, 1, bias=False)]
            layers += [nn.BatchNorm2d(out_ch)] if i > 0 else []
            layers += [nn.LeakyReLU(0.2, inplace=True)]
            in_ch = out_ch
        self.trunk = nn.Sequential(*layers)  # (B, widths[-1], 4, 4)
        self.adversarial = nn.Conv2d(in_ch, 1, 4, 1, 0, bias=False)  # (B, 1, 1, 1) real/fake logit
        features = in_ch * 16
        self.classifier = nn.Linear(features, cfg.n_classes) if cfg.n_classes else None
        n_q = cfg.n_categorical + cfg.n_continuous
        self.q_head = (
            nn.Sequential(nn.Linear(features, 128), nn.BatchNorm1d(128), nn.LeakyReLU(0.2, True), nn.Linear(128, n_q))
            if n_q else None
        )
        self.apply(weights_init)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """(B, C, S, S) -> {'adv': (B,), 'class': (B, K) if ACGAN, 'cat': (B, K_c), 'cont': (B, n_c) if InfoGAN}."""
        h = self.trunk(x)
        out = {"adv": self.adversarial(h).flatten()}
        flat = h.flatten(1)
        if self.classifier is not None:
            out["class"] = self.classifier(flat)
        if self.q_head is not None:
            q = self.q_head(flat)
            out["cat"], out["cont"] = q[:, : self.cfg.n_categorical], q[:, self.cfg.n_categorical:]
        return out
