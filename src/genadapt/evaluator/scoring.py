"""A trained evaluator classifier applied to images: predictions, penultimate features (for
``fd_classifier``) and output lookup."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from genadapt.core.errors import PipelineError
from genadapt.core.runtime import to_float_images
from genadapt.core.weights import load_weights
from genadapt.data.format.transforms import to_common_format
from genadapt.evaluator.loop import predict
from genadapt.evaluator.network import NAME, ClassifierConfig, SmallCNN


class Evaluator:
    """A trained evaluator classifier applied to images of any size (resized to its input)."""

    def __init__(self, model_dir: Path, device: torch.device):
        info_path = Path(model_dir) / "evaluator.json"
        if not info_path.exists():
            raise PipelineError(f"{info_path}: not found; run the train-classifier stage first")
        self.info = json.loads(info_path.read_text())
        config = json.loads((Path(model_dir) / f"{NAME}.json").read_text())
        self.model = load_weights(SmallCNN(ClassifierConfig(**config)), model_dir, NAME).to(device).eval()

    def _prepare(self, images: np.ndarray) -> np.ndarray:
        return to_common_format(images, self.info["image_size"], self.info["channels"])

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Classes (N,) for digits, 0/1 attributes (N, K) for faces, of images (N, H, W, C) uint8."""
        return predict(self.model, self._prepare(images))

    @torch.no_grad()
    def features(self, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Penultimate features (N, F) for Frechet distances in this classifier's feature space."""
        x = self._prepare(images)
        device = next(self.model.parameters()).device
        chunks = [self.model.features(to_float_images(torch.from_numpy(x[i:i + batch_size])).to(device)).cpu()
                  for i in range(0, len(x), batch_size)]
        return torch.cat(chunks).numpy().astype(np.float64)

    def output_index(self, name: str) -> int:
        if name not in self.info["outputs"]:
            raise PipelineError(f"evaluator of {self.info['dataset']} has no output {name!r}")
        return self.info["outputs"].index(name)
