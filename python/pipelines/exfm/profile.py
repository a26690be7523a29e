"""Per-operator time breakdown of one FM or VM training step (torch.profiler), turned into kernel specs: the five fixed
ExFM specs, and a spec for each operator measured hottest over a training and an inference step (`hot_operators`)."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import torch
from torch.profiler import ProfilerActivity, profile

from .config import VARIANTS, ConfigError, DataConfig, FM_DEFAULT, VM_DEFAULT, ModelConfig, check_device, from_dict
from .data import generate_stream
from .losses import exfm_loss
from ..kernels.profile import profile_steps
from ..kernels.steps import ExfmSteps
from .specs import build_specs, to_yaml, write_specs
from .training import set_threads
from .vertical import build_vertical

# Which kernel a profiled operator belongs to; the region names come from record_function in the model.
REGIONS = ("exfm::embedding_bag", "exfm::interaction", "exfm::mlp", "exfm::loss")


@dataclass
class ProfileConfig:
    """Which step to profile and where to write the specs."""

    target: str = "vm"  # 'vm' or 'fm'
    variant: str = "adapter"  # VM variant (the adapter variant runs every loss term)
    model: Optional[ModelConfig] = None  # default: the pipeline's FM or VM architecture
    data: DataConfig = field(default_factory=lambda: DataConfig(windows=2, domains=1, examples_per_window=4096))
    batch_size: int = 512
    steps: int = 5
    warmup: int = 2
    top: int = 15
    output: str = ""  # folder for the spec YAML files
    threads: int = 0
    device: str = "cpu"
    top_operators: int = 6  # specs for this many of the operators measured hottest over a training and an inference step
    min_operator_share: float = 0.02  # skip operators below this share of the measured operator time

    def validate(self, path: str) -> None:
        """Checks the target, the variant and the step counts."""
        if self.target not in ("vm", "fm"):
            raise ConfigError(f"{path}.target: expected 'vm' or 'fm', got {self.target!r}")
        if self.variant not in VARIANTS:
            raise ConfigError(f"{path}.variant: expected one of {', '.join(VARIANTS)}, got {self.variant!r}")
        if self.batch_size < 2 or self.steps < 1 or self.warmup < 0 or self.top < 1:
            raise ConfigError(f"{path}: batch_size >= 2, steps >= 1, warmup >= 0 and top >= 1 are required")
        if not self.output:
            raise ConfigError(f"{path}.output: a folder for the generated kernel specs is required")
        check_device(self.device, path)


def _sizes(model, batch_size: int, average_ids: float, total_rows: int) -> Dict[str, Dict[str, Dict[str, int]]]:
    """Small test sizes, the profiled step's sizes, and a production-like batch 8x larger."""
    features = len(model.embeddings.names)
    dim = model.config.embedding_dim
    width = model.interaction.output_width
    hidden = model.config.top_mlp[0] if model.config.top_mlp else width
    out = model.config.top_mlp[1] if len(model.config.top_mlp) > 1 else 1

    def bag(b: int) -> Dict[str, int]:
        return {"S": b * features, "V": total_rows, "D": dim, "N": max(1, int(round(b * average_ids)))}

    return {
        "embedding_bag": {"small": {"S": 12, "V": 50, "D": 4, "N": 30}, "profiled": bag(batch_size), "large": bag(batch_size * 8)},
        "dot_interaction": {"small": {"B": 3, "F": 4, "D": 5}, "profiled": {"B": batch_size, "F": features + 1, "D": dim}, "large": {"B": batch_size * 8, "F": features + 1, "D": dim}},
        "cross": {"small": {"B": 3, "K": 7}, "profiled": {"B": batch_size, "K": width}, "large": {"B": batch_size * 8, "K": width}},
        "mlp": {"small": {"B": 3, "K": 7, "H": 5, "O": 2}, "profiled": {"B": batch_size, "K": width, "H": hidden, "O": out}, "large": {"B": batch_size * 8, "K": width, "H": hidden, "O": out}},
        "loss": {"small": {"B": 5}, "profiled": {"B": batch_size}, "large": {"B": batch_size * 8}},
    }


def run_profile(config: ProfileConfig) -> dict:
    """Profiles training steps and writes the hot operators as kernel specs; returns the breakdown and the spec paths."""
    set_threads(config.threads)
    batch, meta = generate_stream(config.data)
    if batch.rows < config.batch_size:
        raise ConfigError(f"args.batch_size: {config.batch_size} exceeds the {batch.rows} generated examples; raise data.examples_per_window")
    batch = batch.to(config.device)
    variant = config.variant if config.target == "vm" else "plain"
    architecture = config.model or ModelConfig(**(VM_DEFAULT if config.target == "vm" else FM_DEFAULT))
    model = build_vertical(meta["vocabulary"], meta["dense_features"], architecture, variant, 8).to(config.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(config.data.seed)
    # DAS logits are plain data at training time; any realistic values exercise the same kernels.
    fm_logit = torch.randn(batch.rows, generator=generator).to(config.device)
    cuda = config.device.startswith("cuda")

    def step() -> None:
        rows = torch.randint(0, batch.rows, (config.batch_size,), generator=generator).to(config.device)
        part = batch.select(rows)
        outputs = model(part)
        loss, _ = exfm_loss(model, outputs, part.label, fm_logit[rows], variant, 1.0, 1.0)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(config.warmup):
        step()
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    started = time.perf_counter()
    with profile(activities=activities) as profiler:
        for _ in range(config.steps):
            step()
        if cuda:
            torch.cuda.synchronize()
    wall_ms = (time.perf_counter() - started) * 1000 / config.steps
    events = profiler.key_averages()
    device_attribute = "self_device_time_total" if cuda else "self_cpu_time_total"
    operators = [e for e in events if e.key.startswith("aten::")]
    total_self = sum(getattr(e, device_attribute) for e in operators) or 1.0
    hot = sorted(operators, key=lambda e: getattr(e, device_attribute), reverse=True)[: config.top]
    breakdown = [
        {"operator": e.key, "calls_per_step": e.count / config.steps, "self_ms_per_step": getattr(e, device_attribute) / 1000 / config.steps, "share_percent": 100 * getattr(e, device_attribute) / total_self}
        for e in hot
    ]
    regions = {e.key: e.cpu_time_total / 1000 / config.steps for e in events if e.key in REGIONS}
    average_ids = float(sum(f.values.numel() for f in batch.sparse.values())) / batch.rows
    total_rows = int(sum(meta["vocabulary"].values()))
    prefix = f"exfm-{config.target}"
    source = f"python -m pipelines.exfm profile (target {config.target}, variant {variant}, batch {config.batch_size})"
    specs = build_specs(prefix, source, _sizes(model, config.batch_size, average_ids, total_rows), {"aux_weight": 1.0, "adapter_weight": 1.0})
    paths = write_specs(config.output, specs)
    # The operators measured hottest over a training and an inference step, each written as a spec (kernels/catalog.py).
    steps = ExfmSteps(target=config.target, batch=config.batch_size, seed=config.data.seed, device=config.device, data=config.data,
                      model=config.model)
    measured = profile_steps(steps, config.output, "exfm", source, to_yaml, top=config.top_operators,
                             min_share=config.min_operator_share, repeats=config.steps, warmup=config.warmup, device=config.device)
    return {
        **measured,
        "ok": True,
        "command": "profile",
        "target": config.target,
        "variant": variant,
        "device": config.device,
        "parameters": model.parameter_count(),
        "step_ms": wall_ms,
        "time_basis": "self device time" if cuda else "self CPU time",
        "operators": breakdown,
        "regions_forward_ms": regions,
        "spec_paths": paths,
    }
