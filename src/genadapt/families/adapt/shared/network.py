"""DANN (Ganin & Lempitsky 2015, https://arxiv.org/abs/1409.7495): a feature extractor shared by a
label classifier and, behind a gradient-reversal layer, a domain classifier."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


class GradientReversal(torch.autograd.Function):
    """Identity in the forward pass; multiplies the gradient by -lambda in the backward pass."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, lambda_: float) -> torch.Tensor:
        ctx.lambda_ = lambda_
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        return -ctx.lambda_ * grad_output, None


def grad_reverse(x: torch.Tensor, lambda_: float) -> torch.Tensor:
    return GradientReversal.apply(x, lambda_)


@dataclass(frozen=True)
class DANNConfig:
    channels: int = 3
    image_size: int = 32  # divisible by 8
    width: int = 32  # channels of the first conv block, doubled twice
    feature_dim: int = 256
    n_classes: int = 10

    def to_dict(self) -> dict:
        return asdict(self)


class DANN(nn.Module):
    def __init__(self, cfg: DANNConfig):
        super().__init__()
        self.cfg = cfg
        blocks, in_ch = [], cfg.channels
        for i in range(3):
            out_ch = cfg.width * 2**i
            # conv-BN-ReLU then 2x2 max-pool: (B, in, H, W) -> (B, out, H/2, W/2)
            blocks += [nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU(True), nn.MaxPool2d(2)]
            in_ch = out_ch
        spatial = cfg.image_size // 8
        self.features = nn.Sequential(
            *blocks,
            nn.Flatten(),  # (B, 4 * width * (S/8)^2)
            nn.Linear(in_ch * spatial * spatial, cfg.feature_dim),
            nn.BatchNorm1d(cfg.feature_dim),
            nn.ReLU(True),
            nn.Dropout(0.3),
        )  # (B, feature_dim)
        self.label_head = nn.Linear(cfg.feature_dim, cfg.n_classes)
        self.domain_head = nn.Sequential(
            nn.Linear(cfg.feature_dim, cfg.feature_dim), nn.ReLU(True), nn.Linear(cfg.feature_dim, 1)
        )  # (B, 1) logit of "comes from the target domain"
        # CDAN (Long et al. 2018): the discriminator sees features conditioned on predictions.
        self.conditional_domain_head = nn.Sequential(
            nn.Linear(cfg.feature_dim * cfg.n_classes, cfg.feature_dim), nn.ReLU(True), nn.Linear(cfg.feature_dim, 1)
        )

    def forward(self, x: torch.Tensor, lambda_: float = 0.0):
        """Returns (features (B, F), class logits (B, 10), domain logits (B,))."""
        f = self.features(x)
        return f, self.label_head(f), self.domain_head(grad_reverse(f, lambda_)).squeeze(1)

    def conditional_domain_logits(self, f: torch.Tensor, probs: torch.Tensor, lambda_: float) -> torch.Tensor:
        """CDAN's multilinear map f (x) g: (B, F) and (B, K) -> (B, F*K) -> domain logits (B,)."""
        joint = torch.bmm(probs.unsqueeze(2), f.unsqueeze(1)).flatten(1)  # (B, K * F)
        return self.conditional_domain_head(grad_reverse(joint, lambda_)).squeeze(1)
