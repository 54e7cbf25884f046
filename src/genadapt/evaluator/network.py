"""A small CNN classifier: digit classes (softmax) or face attributes (independent sigmoids)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

NAME = "classifier"  # a trained evaluator's files: classifier.safetensors + classifier.json


@dataclass(frozen=True)
class ClassifierConfig:
    channels: int = 3
    n_outputs: int = 10  # classes (multiclass) or attributes (multilabel)
    width: int = 32  # channels of the first block, doubled at each block
    multilabel: bool = False  # True: independent sigmoid per output (attributes)
    # The head reads the last feature map pooled to head_grid x head_grid cells: 1 is a global
    # average (where a feature lies is lost); 4 at a 32x32 input keeps the whole 4x4 map, so a face
    # attribute can depend on where it is (a mouth below the nose).
    head_grid: int = 1

    def to_dict(self) -> dict:
        return asdict(self)


class SmallCNN(nn.Module):
    """Three conv blocks (conv-BN-ReLU-maxpool), then a linear head on the last map pooled to
    ``head_grid`` x ``head_grid``; ``features`` is the map's global average.

    Works on any input size >= 8: (B, C, H, W) -> map (B, 4 * width, H/8, W/8) -> features (B, 4 * width)
    and logits (B, n_outputs).
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
        self.head = nn.Linear(in_ch * cfg.head_grid**2, cfg.n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.cfg.head_grid == 1:
            return self.head(self.features(x))
        grid = self.features[:-2](x)  # (B, 4 * width, H/8, W/8): the blocks without the global pool
        return self.head(F.adaptive_avg_pool2d(grid, self.cfg.head_grid).flatten(1))  # reads (B, 4 * width * g * g)
