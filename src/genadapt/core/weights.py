"""Model weights as safetensors plus the architecture config as JSON, in one folder."""

from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import load_file, save_file
from torch import nn

from genadapt.core.errors import PipelineError


def save_weights(model: nn.Module, config: dict, out_dir: Path, name: str) -> None:
    """Write ``<name>.safetensors`` and ``<name>.json`` (the constructor config)."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(Path(out_dir) / f"{name}.safetensors"))
    (Path(out_dir) / f"{name}.json").write_text(json.dumps(config, indent=2) + "\n")


def load_config(model_dir: Path, name: str) -> dict:
    path = Path(model_dir) / f"{name}.json"
    if not path.exists():
        raise PipelineError(f"{path}: not found; run the model's train stage first")
    return json.loads(path.read_text())


def load_weights(model: nn.Module, model_dir: Path, name: str) -> nn.Module:
    path = Path(model_dir) / f"{name}.safetensors"
    try:
        state = load_file(str(path))
    except (OSError, Exception) as exc:  # safetensors raises its own error type on corrupt files
        raise PipelineError(f"{path}: cannot load weights ({exc})") from None
    model.load_state_dict(state)
    return model
