"""A small CNN classifier: digit classes (softmax) or face attributes (independent sigmoids)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

NAME = "classifier"  # a trained evaluator's files: classifier.safetensors + classifier.json


@dataclass(frozen=True)
class ClassifierConfig:
    channels: int = 3
    n_outputs: int = 10  # classes (multiclass) or attributes (multilabel)
    width: int = 32  # channels of the first block, doubled at each block
    multilabel: bool = False  # True: independent sigmoid per output (attributes)

    def to_dict(self) -> dict:
        return asdict(self)


class SmallCNN(nn.Module):
    """Three conv blocks (conv-BN-ReLU-maxpool), global average pooling, a linear head.

    Works on any input size >= 8: (B, C, H, W) -> features (B, 4 * width) -> logits (B, n_outputs).
    """

    def __init__(self, cfg: ClassifierConfig):
        super().__init__()
        self.cfg = cfg
        layers, in_ch = [], cfg.channels
        for i in range(3):
            out_ch = cfg.width * 2**i
            layers += [nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU(True)]
            layers += [nn.MaxPool2d(2)]  # halves H, W
            in_ch = out_ch
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())  # (B, 4 * width)
        self.head = nn.Linear(in_ch, cfg.n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
