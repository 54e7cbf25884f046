"""Convolutional VAE (Kingma & Welling 2014, https://arxiv.org/abs/1312.6114).

Encoder: stride-2 convolutions halve the image down to 4x4, then a linear layer gives the
posterior mean and log-variance. Decoder: the mirror image with transposed convolutions and a
sigmoid, so reconstructions live in [0, 1] like the inputs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class VAEConfig:
    image_size: int = 64  # square images; a power of two >= 8
    channels: int = 3
    latent_dim: int = 128
    base_channels: int = 32  # width after the first conv, doubled at each downsampling

    def to_dict(self) -> dict:
        return asdict(self)


def _n_down(image_size: int) -> int:
    n = math.log2(image_size / 4)
    if image_size < 8 or n != int(n):
        raise ValueError(f"VAE image_size must be a power of two >= 8, got {image_size}")
    return int(n)


class VAE(nn.Module):
    def __init__(self, cfg: VAEConfig):
        super().__init__()
        self.cfg = cfg
        n_down, c = _n_down(cfg.image_size), cfg.base_channels
        widths = [c * 2**i for i in range(n_down)]  # e.g. 64px: 32, 64, 128, 256
        enc, in_ch = [], cfg.channels
        for i, out_ch in enumerate(widths):
            # Conv(k4, s2, p1) halves H and W: (B, in, H, W) -> (B, out, H/2, W/2)
            enc += [nn.Conv2d(in_ch, out_ch, 4, 2, 1, bias=i == 0)]
            enc += [nn.BatchNorm2d(out_ch)] if i > 0 else []
            enc += [nn.LeakyReLU(0.2, inplace=True)]
            in_ch = out_ch
        self.encoder = nn.Sequential(*enc, nn.Flatten())  # (B, widths[-1] * 4 * 4)
        self.to_stats = nn.Linear(widths[-1] * 16, 2 * cfg.latent_dim)  # (B, 2 * latent)
        self.from_latent = nn.Linear(cfg.latent_dim, widths[-1] * 16)
        dec = []
        for out_ch in reversed(widths[:-1]):
            # ConvTranspose(k4, s2, p1) doubles H and W.
            dec += [nn.ConvTranspose2d(in_ch, out_ch, 4, 2, 1, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU(True)]
            in_ch = out_ch
        dec += [nn.ConvTranspose2d(in_ch, cfg.channels, 4, 2, 1), nn.Sigmoid()]  # (B, C, H, W) in [0, 1]
        self.decoder = nn.Sequential(*dec)
        self._top = widths[-1]

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, C, H, W) in [0, 1] -> posterior mean and log-variance, each (B, latent)."""
        mu, logvar = self.to_stats(self.encoder(x)).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, latent) -> (B, C, H, W) in [0, 1]."""
        h = self.from_latent(z).view(-1, self._top, 4, 4)
        return self.decoder(F.relu(h))

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None):
        mu, logvar = self.encode(x)
        # Reparameterisation: z = mu + sigma * eps keeps the sample differentiable in mu, sigma.
        eps = torch.randn(mu.shape, generator=generator, device="cpu").to(mu.device)
        z = mu + torch.exp(0.5 * logvar) * eps
        return self.decode(z), mu, logvar

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n images decoded from the prior N(0, I): (n, C, H, W) in [0, 1]."""
        device = next(self.parameters()).device
        z = torch.randn(n, self.cfg.latent_dim, generator=generator).to(device)
        return self.decode(z)


def vae_loss(recon: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, kl_weight: float):
    """Negative ELBO with a weighted KL term, per image averaged over the batch.

    recon term: squared error summed over pixels (a Gaussian likelihood up to constants);
    KL(q(z|x) || N(0, I)) = -1/2 * sum(1 + logvar - mu^2 - exp(logvar))  (Kingma & Welling, App. B).
    Returns (loss, recon term, KL) as tensors.
    """
    batch = x.shape[0]
    recon, mu, logvar = recon.float(), mu.float(), logvar.float()  # sums in float32 under bf16 autocast
    recon_term = F.mse_loss(recon, x, reduction="sum") / batch
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / batch
    return recon_term + kl_weight * kl, recon_term, kl
