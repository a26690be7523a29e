"""Named model presets, construction from a dict, and parameter / FLOP counts."""
from __future__ import annotations

from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from .cnn import CnnConfig, RealSpaceCnn
from .cnn import describe as describe_cnn
from .config import ConfigError, build
from .vit import AOViFT, VitConfig
from .vit import describe as describe_vit

# CPU presets run in minutes on 2 cores; the GPU presets follow the paper's T size at 64^3 (patches 32->16).
PRESETS: dict[str, dict[str, Any]] = {
    "vit-tiny": {"kind": "vit", "config": {"image_size": 32, "patches": [16, 8], "blocks": [1, 1], "heads": [4, 2]}},
    "vit-small": {"kind": "vit", "config": {"image_size": 32, "patches": [16, 8], "blocks": [2, 2], "heads": [4, 2]}},
    "vit-gpu-t": {"kind": "vit", "config": {"image_size": 64, "patches": [32, 16], "blocks": [3, 3], "heads": [16, 4]}},
    "cnn-tiny": {"kind": "cnn", "config": {"image_size": 32, "widths": [8, 16, 32, 64], "depth": 1}},
    "cnn-small": {"kind": "cnn", "config": {"image_size": 32, "widths": [10, 20, 40, 80], "depth": 1}},
    "cnn-gpu-t": {"kind": "cnn", "config": {"image_size": 64, "widths": [12, 24, 48, 96, 192], "depth": 2}},
}


def model_spec(preset: str | None = None, kind: str | None = None, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Resolves a preset name and/or explicit config into {"kind", "config"}; unknown presets list the known ones."""
    if preset is not None:
        if preset not in PRESETS:
            raise ConfigError(f"unknown model preset '{preset}'; known presets: {', '.join(PRESETS)}")
        base = PRESETS[preset]
        return {"kind": base["kind"], "config": {**base["config"], **(config or {})}}
    if kind not in ("vit", "cnn"):
        raise ConfigError("give a model preset, or kind 'vit' or 'cnn' with a config")
    return {"kind": kind, "config": dict(config or {})}


def build_model(spec: dict[str, Any]) -> torch.nn.Module:
    """Builds the network described by a model spec."""
    if spec["kind"] == "vit":
        return AOViFT(build(VitConfig, spec["config"], "model.config"))
    if spec["kind"] == "cnn":
        return RealSpaceCnn(build(CnnConfig, spec["config"], "model.config"))
    raise ConfigError(f"unknown model kind '{spec['kind']}'; expected vit or cnn")


def model_input_kind(spec: dict[str, Any]) -> str:
    """'embeddings' for the Fourier ViT, 'volumes' for the real-space CNN."""
    return "embeddings" if spec["kind"] == "vit" else "volumes"


def example_input(model: torch.nn.Module, batch: int = 1) -> torch.Tensor:
    """A zero input of the right shape for the model."""
    size = model.config.image_size
    if isinstance(model, AOViFT):
        return torch.zeros(batch, model.config.planes, size, size)
    return torch.zeros(batch, size, size, size)


def count_parameters(model: torch.nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(parameter.numel() for parameter in model.parameters() if parameter.requires_grad)


def forward_flops(model: torch.nn.Module) -> int:
    """FLOPs of one forward pass of one sample (matmuls, convolutions, attention), counted by torch's FLOP counter."""
    counter = FlopCounterMode(display=False)
    model.eval()
    device = next(model.parameters()).device
    with torch.no_grad(), counter:
        model(example_input(model).to(device))
    return int(counter.get_total_flops())


def describe(model: torch.nn.Module) -> str:
    """Human-readable one-liner of a model."""
    return describe_vit(model.config) if isinstance(model, AOViFT) else describe_cnn(model.config)
