"""Inception-based metrics (FID, IS, KID, precision/recall) from one feature pass per image set.

The network is pytorch-fid's FID Inception (the TensorFlow 2015-12-05 graph ported to PyTorch),
built with ``pytorch_fid.inception.fid_inception_v3`` and loaded from a local weights file:
``pt_inception-2015-12-05-6726825d.pth`` in the torch hub cache (where pytorch-fid puts it), or
a path from params. Nothing is downloaded here. One pass gives, per image, the 2048-d pool
features (FID with pytorch-fid's ``calculate_frechet_distance``; KID and precision/recall with
torch-fidelity) and the 1008-way logits without bias (IS with torch-fidelity, which uses the
same 'logits_unbiased').

Without the weights no Inception number exists: :func:`find_weights` returns None and callers
record the metrics as unavailable. Never substitute another network under these names.
"""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import numpy as np
import torch
import torch.nn.functional as F
from pytorch_fid import inception as fid_inception
from pytorch_fid.fid_score import calculate_frechet_distance
from torch_fidelity.metric_isc import isc_features_to_metric
from torch_fidelity.metric_kid import kid_features_to_metric
from torch_fidelity.metric_prc import prc_features_to_metric

from genadapt.errors import PipelineError
from genadapt.runtime import progress

WEIGHTS_FILE = "pt_inception-2015-12-05-6726825d.pth"


def find_weights(explicit: str) -> Path | None:
    """The weights file: ``explicit`` if given (it must exist), else the torch hub cache's copy, else None."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise PipelineError(f"evaluate.inception_weights: {path} not found")
        return path
    cached = Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILE
    return cached if cached.is_file() else None


def build_network(weights: Path) -> torch.nn.Module:
    """pytorch-fid's FID Inception with the state dict read from ``weights`` (no download)."""
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same user error
        raise PipelineError(f"{weights}: cannot read Inception weights ({exc})") from None
    with mock.patch.object(fid_inception, "load_state_dict_from_url", lambda *args, **kwargs: state):
        try:
            return fid_inception.fid_inception_v3().eval()
        except RuntimeError as exc:
            raise PipelineError(f"{weights}: not the FID Inception state dict ({str(exc).splitlines()[0]})") from None


class InceptionFeatures:
    """Images (N, H, W, C) uint8 -> (pool features (N, 2048), unbiased logits (N, 1008)), float64."""

    def __init__(self, weights: Path, device: torch.device, batch_size: int = 100):
        self.net = build_network(weights).to(device)
        self.device, self.batch_size = device, batch_size
        n = self.net
        # The layers of torchvision's Inception3._forward up to the pool, as pytorch-fid runs them.
        self.blocks = torch.nn.Sequential(
            n.Conv2d_1a_3x3, n.Conv2d_2a_3x3, n.Conv2d_2b_3x3, n.maxpool1, n.Conv2d_3b_1x1, n.Conv2d_4a_3x3, n.maxpool2,
            n.Mixed_5b, n.Mixed_5c, n.Mixed_5d, n.Mixed_6a, n.Mixed_6b, n.Mixed_6c, n.Mixed_6d, n.Mixed_6e,
            n.Mixed_7a, n.Mixed_7b, n.Mixed_7c, n.avgpool,
        )

    @torch.no_grad()
    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pools, logits = [], []
        for start in progress(range(0, len(images), self.batch_size), desc="inception"):
            x = torch.from_numpy(images[start:start + self.batch_size]).permute(0, 3, 1, 2).float() / 255  # (B, C, H, W)
            if x.shape[1] == 1:
                x = x.repeat(1, 3, 1, 1)
            # pytorch-fid's preprocessing: bilinear resize to 299x299, then [0, 1] -> [-1, 1].
            x = F.interpolate(x.to(self.device), size=(299, 299), mode="bilinear", align_corners=False) * 2 - 1
            pool = self.blocks(x).flatten(1)  # (B, 2048)
            pools.append(pool.double().cpu())
            logits.append((pool @ self.net.fc.weight.T).double().cpu())  # (B, 1008), no bias
        return torch.cat(pools).numpy(), torch.cat(logits).numpy()


def inception_metrics(gen_pool: np.ndarray, gen_logits: np.ndarray, real_pool: np.ndarray) -> dict[str, float]:
    """FID (pytorch-fid formula), IS, KID and precision/recall (torch-fidelity) from features."""
    fid = calculate_frechet_distance(gen_pool.mean(0), np.cov(gen_pool, rowvar=False),
                                     real_pool.mean(0), np.cov(real_pool, rowvar=False))
    isc = isc_features_to_metric(torch.from_numpy(gen_logits), splits=10)
    subset = min(1000, len(gen_pool), len(real_pool))
    kid = kid_features_to_metric(torch.from_numpy(gen_pool), torch.from_numpy(real_pool), kid_subset_size=subset, verbose=False)
    prc = precision_recall(gen_pool, real_pool)
    return {
        "fid": float(fid),
        "inception_score_mean": isc["inception_score_mean"],
        "inception_score_std": isc["inception_score_std"],
        "kid_mean": kid["kernel_inception_distance_mean"],
        "kid_std": kid["kernel_inception_distance_std"],
        **prc,
    }


def precision_recall(generated: np.ndarray, real: np.ndarray) -> dict[str, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019) of feature sets (N, D), torch-fidelity's
    k-NN manifolds: precision = share of generated samples inside the real manifold (realism),
    recall = share of real samples inside the generated one (coverage). torch-fidelity takes the
    generated set first (``prc_features_to_metric(features_1=generated, features_2=real)``)."""
    prc = prc_features_to_metric(torch.from_numpy(generated).float(), torch.from_numpy(real).float(), verbose=False)
    return {"precision": float(prc["precision"]), "recall": float(prc["recall"])}


def write_random_weights(path: Path, seed: int = 0) -> Path:
    """A state dict with the FID Inception's exact keys and shapes but random values.

    Only for exercising and timing the code path where the real weights are unavailable; the
    numbers it gives are meaningless and must never be reported as FID/IS/KID.
    """
    import torchvision

    torch.manual_seed(seed)
    with mock.patch.object(fid_inception, "load_state_dict_from_url", lambda *args, **kwargs: None), \
            mock.patch.object(torchvision.models.Inception3, "load_state_dict", lambda self, state, *a, **k: None):
        net = fid_inception.fid_inception_v3()
    torch.save(net.state_dict(), path)
    return Path(path)
