"""Named model presets, construction from a dict, and parameter / FLOP counts."""
from __future__ import annotations

from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from .cnn import CnnConfig, FourierCnn, FourierCnnConfig, RealSpaceCnn
from .cnn import describe as describe_cnn
from .cnn import describe_fourier
from .config import ConfigError, build
from .vit import AOViFT, VitConfig
from .vit import describe as describe_vit

# CPU presets run in minutes on 2 cores; the GPU presets follow the paper's T size at 64^3 (patches 32->16).
PRESETS: dict[str, dict[str, Any]] = {
    "vit-tiny": {"kind": "vit", "config": {"image_size": 32, "patches": [16, 8], "blocks": [1, 1], "heads": [4, 2], "head": "flatten"}},
    "vit-small": {"kind": "vit", "config": {"image_size": 32, "patches": [16, 8], "blocks": [2, 2], "heads": [4, 2], "head": "flatten"}},
    "vit-gpu-t": {"kind": "vit", "config": {"image_size": 64, "patches": [32, 16], "blocks": [3, 3], "heads": [16, 4], "head": "flatten"}},
    "cnn-tiny": {"kind": "cnn", "config": {"image_size": 32, "widths": [8, 16, 32, 64], "depth": 1}},
    "cnn-small": {"kind": "cnn", "config": {"image_size": 32, "widths": [10, 20, 40, 80], "depth": 1}},
    "cnn-gpu-t": {"kind": "cnn", "config": {"image_size": 64, "widths": [12, 24, 48, 96, 192], "depth": 2}},
    # Baselines and ablations that separate the input from the architecture (docs/aovift.md, "Ablations").
    "cnn2d-tiny": {"kind": "cnn2d", "config": {"image_size": 32, "widths": [32, 64, 128, 256], "depth": 1}},
    "vit-tiny-volume": {"kind": "vit", "input": "volumes", "config": {"image_size": 32, "planes": 32, "patches": [16, 8], "blocks": [1, 1], "heads": [4, 2], "head": "flatten"}},
    "vit-tiny-amplitude": {"kind": "vit", "config": {"image_size": 32, "planes": 3, "select": [0, 1, 2], "patches": [16, 8], "blocks": [1, 1], "heads": [4, 2], "head": "flatten"}},
    "vit-tiny-single-stage": {"kind": "vit", "config": {"image_size": 32, "patches": [16], "blocks": [2], "heads": [4], "head": "flatten"}},
    "vit-tiny-mean-head": {"kind": "vit", "config": {"image_size": 32, "patches": [16, 8], "blocks": [1, 1], "heads": [4, 2], "head": "mean"}},
}
KINDS = ("vit", "cnn", "cnn2d")
INPUTS = ("embeddings", "volumes")


def model_spec(preset: str | None = None, kind: str | None = None, config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Resolves a preset name and/or explicit config into {"kind", "config"}; unknown presets list the known ones."""
    if preset is not None:
        if preset not in PRESETS:
            raise ConfigError(f"unknown model preset '{preset}'; known presets: {', '.join(PRESETS)}")
        base = PRESETS[preset]
        spec = {"kind": base["kind"], "config": {**base["config"], **(config or {})}}
        if "input" in base:
            spec["input"] = base["input"]
        return spec
    if kind not in KINDS:
        raise ConfigError(f"give a model preset, or kind {', '.join(KINDS)} with a config")
    return {"kind": kind, "config": dict(config or {})}


def build_model(spec: dict[str, Any]) -> torch.nn.Module:
    """Builds the network described by a model spec."""
    if spec["kind"] == "vit":
        return AOViFT(build(VitConfig, spec["config"], "model.config"))
    if spec["kind"] == "cnn":
        return RealSpaceCnn(build(CnnConfig, spec["config"], "model.config"))
    if spec["kind"] == "cnn2d":
        return FourierCnn(build(FourierCnnConfig, spec["config"], "model.config"))
    raise ConfigError(f"unknown model kind '{spec['kind']}'; expected vit or cnn")


def model_input_kind(spec: dict[str, Any]) -> str:
    """'embeddings' (the Fourier planes) or 'volumes' (real space): the spec's "input", else by kind (cnn: volumes)."""
    kind = spec.get("input") or ("volumes" if spec["kind"] == "cnn" else "embeddings")
    if kind not in INPUTS:
        raise ConfigError(f"model input must be one of {', '.join(INPUTS)}, got '{kind}'")
    return kind


def example_input(model: torch.nn.Module, batch: int = 1) -> torch.Tensor:
    """A zero input of the right shape for the model."""
    size = model.config.image_size
    if isinstance(model, AOViFT):
        return torch.zeros(batch, max(model.config.select, default=model.config.planes - 1) + 1, size, size)
    if isinstance(model, FourierCnn):
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
    if isinstance(model, FourierCnn):
        return describe_fourier(model.config)
    return describe_vit(model.config) if isinstance(model, AOViFT) else describe_cnn(model.config)
