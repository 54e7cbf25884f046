"""`amp`: bf16 autocast where the device computes bf16 natively, float32 elsewhere.

``runtime.bf16_native`` is patched so that both branches run on any CPU (bf16 is emulated, and
only slower, where the CPU lacks it)."""


import numpy as np
import pandas as pd
import pytest
import torch

from genadapt.core import runtime
from genadapt.data.format.prepared import PreparedSplit
from genadapt.evaluator.loop import fit_classifier
from genadapt.families.gan.kinds import get_kind
from genadapt.families.gan.training import GANData, train_gan
from genadapt.families.vae.training import train_vae

CPU = torch.device("cpu")


@pytest.mark.parametrize("native", [False, True])
def test_autocast_only_when_asked_and_native(monkeypatch, native):
    monkeypatch.setattr(runtime, "bf16_native", lambda device: native)
    with runtime.mixed_precision(CPU, amp=False):
        assert not torch.is_autocast_enabled("cpu")
    with runtime.mixed_precision(CPU, amp=True):
        assert torch.is_autocast_enabled("cpu") == native
        if native:
            assert torch.get_autocast_dtype("cpu") == torch.bfloat16


def _conv_output_dtypes():
    """Records the dtype of every Conv2d / ConvTranspose2d output while it is installed."""
    seen = set()

    def hook(module, inputs, output):
        if isinstance(module, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)) and module.training:
            seen.add(output.dtype)

    return seen, torch.nn.modules.module.register_module_forward_hook(hook)


def _train(loop: str, tiny, amp: bool) -> torch.nn.Module:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (24, 16, 16, 3), dtype=np.uint8)
    if loop == "vae":
        split = PreparedSplit(images, pd.DataFrame({"image_id": range(24)}))
        return train_vae(tiny("vae", steps=3, amp=amp), split, CPU, seed=0)[0]
    if loop == "gan":
        # No BatchNorm recalibration here: that pass samples, and sampling runs float32 on every path.
        cfg = tiny("acgan-digits", steps=3, eval_every=0, amp=amp, bn_recalibration=0)
        return train_gan(get_kind("acgan"), cfg, GANData(images, (np.arange(24) % 10).astype(np.int64), 10), CPU, seed=0)[0]
    return fit_classifier(images, np.arange(24) % 10, False, 3, torch.Generator().manual_seed(0), batch_size=8, width=4, amp=amp)


@pytest.mark.parametrize("loop", ["vae", "gan", "classifier"])
def test_amp_runs_the_convolutions_in_bf16_and_keeps_float32_weights(monkeypatch, tiny, loop):
    monkeypatch.setattr(runtime, "bf16_native", lambda device: True)
    results = {}
    for amp in (False, True):
        seen, handle = _conv_output_dtypes()
        try:
            model = _train(loop, tiny, amp)
        finally:
            handle.remove()
        assert seen == ({torch.bfloat16} if amp else {torch.float32}), (loop, amp, seen)
        weights = {k: v for k, v in model.state_dict().items() if v.is_floating_point()}
        assert all(v.dtype == torch.float32 and torch.isfinite(v).all() for v in weights.values()), (loop, amp)
        results[amp] = weights
    # bf16 rounding changes the trained weights a little, not wholesale.
    diffs = [(results[True][k] - results[False][k]).abs().max().item() for k in results[False]]
    assert 0 < max(diffs) < 0.1, (loop, max(diffs))

