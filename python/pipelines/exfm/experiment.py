"""The ExFM claims at small scale over several seeds: distillation (E1), auxiliary head under FM bias (E2), adapter vs staleness (E3)."""
from __future__ import annotations

import os
import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List

from .config import ConfigError, DataConfig, FoundationConfig, VerticalConfig, check_device, from_dict
from .data import generate_stream, write_dataset
from .foundation import train_foundation
from .metrics import relative_ne_gain
from .training import log
from .vertical import train_vertical

CLAIMS = ("e1", "e2", "e3", "control")


@dataclass
class ExperimentConfig:
    """Seeds, scale and which claims to run."""

    output: str = ""
    seeds: List[int] = field(default_factory=lambda: [0, 1, 2])
    data: Dict[str, Any] = field(default_factory=dict)  # DataConfig fields (seed is set per run)
    foundation: Dict[str, Any] = field(default_factory=dict)  # FoundationConfig fields except data/output/staleness
    vertical: Dict[str, Any] = field(default_factory=dict)  # VerticalConfig fields except data/das/output/variant/domain
    staleness: List[int] = field(default_factory=lambda: [1, 2, 4])
    biased_domain: int = 0
    biased_keep: float = 0.03  # fraction of the biased domain's examples the biased FM sees
    claims: List[str] = field(default_factory=lambda: list(CLAIMS))
    threads: int = 0
    device: str = "cpu"

    def validate(self, path: str) -> None:
        """Checks seeds, claims and the nested configurations before any training starts."""
        if not self.output:
            raise ConfigError(f"{path}.output: a working folder for datasets and checkpoints is required")
        if not self.seeds:
            raise ConfigError(f"{path}.seeds: at least one seed")
        unknown = [c for c in self.claims if c not in CLAIMS]
        if unknown:
            raise ConfigError(f"{path}.claims: unknown {unknown}; choose from {', '.join(CLAIMS)}")
        for key in ("data", "output", "staleness", "domain_weights", "device", "threads"):
            if key in self.foundation:
                raise ConfigError(f"{path}.foundation.{key}: set by the experiment itself")
        for key in ("data", "das", "output", "variant", "domain", "device", "threads"):
            if key in self.vertical:
                raise ConfigError(f"{path}.vertical.{key}: set by the experiment itself")
        data = from_dict(DataConfig, self.data, f"{path}.data")
        if not 0 <= self.biased_domain < data.domains:
            raise ConfigError(f"{path}.biased_domain: must be in 0..{data.domains - 1}")
        if not 1 <= max(self.staleness) and min(self.staleness) >= 1:
            raise ConfigError(f"{path}.staleness: integers >= 1")
        from_dict(FoundationConfig, {**self.foundation, "data": "-", "output": "-"}, f"{path}.foundation")
        from_dict(VerticalConfig, {**self.vertical, "data": "-"}, f"{path}.vertical")
        check_device(self.device, path)


def _summary(values: List[float]) -> dict:
    """Mean, sample standard deviation and the values themselves."""
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0, "values": values}


def run_experiment(config: ExperimentConfig) -> dict:
    """Runs every requested claim for every seed and aggregates relative NE gains (percent, higher is better)."""
    started = time.time()
    gains: Dict[str, List[float]] = {}
    ne: Dict[str, List[float]] = {}

    def record(name: str, baseline: float, candidate: float) -> None:
        gains.setdefault(name, []).append(relative_ne_gain(baseline, candidate))

    for seed in config.seeds:
        root = os.path.join(config.output, f"seed{seed}")
        common = {"threads": config.threads, "device": config.device}

        def dataset(name: str, overrides: Dict[str, Any]) -> str:
            data_config = from_dict(DataConfig, {**config.data, **overrides, "seed": seed})
            batch, meta = generate_stream(data_config)
            folder = os.path.join(root, name)
            write_dataset(folder, batch, meta)
            return folder

        def foundation(data: str, name: str, weights: Dict[str, float]) -> dict:
            return train_foundation(from_dict(FoundationConfig, {**config.foundation, **common, "data": data, "output": os.path.join(root, name), "staleness": config.staleness, "domain_weights": weights, "seed": seed}))

        def vertical(data: str, das: str, variant: str, domain: int) -> dict:
            result = train_vertical(from_dict(VerticalConfig, {**config.vertical, **common, "data": data, "das": das, "variant": variant, "domain": domain, "seed": seed}))
            ne.setdefault(f"{variant}@{os.path.basename(das) or 'none'}/d{domain}", []).append(result["ne"])
            return result

        domains = int(config.data.get("domains", DataConfig.domains))
        data = dataset("data", {})
        if {"e1", "e3", "e2"} & set(config.claims):
            fm = foundation(data, "fm", {})
            plain = {d: vertical(data, "", "plain", d)["ne"] for d in range(domains)}
        if "e1" in config.claims:
            for d in range(domains):
                record("e1_distilled_vs_plain", plain[d], vertical(data, fm["das"]["1"], "distilled", d)["ne"])
        if "e3" in config.claims:
            for k in config.staleness:
                for d in range(domains):
                    auxiliary = vertical(data, fm["das"][str(k)], "auxiliary", d)["ne"]
                    adapter = vertical(data, fm["das"][str(k)], "adapter", d)["ne"]
                    record(f"e3_auxiliary_vs_plain_k{k}", plain[d], auxiliary)
                    record(f"e3_adapter_vs_plain_k{k}", plain[d], adapter)
                    record(f"e3_adapter_vs_auxiliary_k{k}", auxiliary, adapter)
        if "e2" in config.claims:
            d = config.biased_domain
            biased = foundation(data, "fm_biased", {str(d): config.biased_keep})
            das = biased["das"][str(min(config.staleness))]
            distilled = vertical(data, das, "distilled", d)["ne"]
            auxiliary = vertical(data, das, "auxiliary", d)["ne"]
            record("e2_biased_auxiliary_vs_distilled", distilled, auxiliary)
            record("e2_biased_distilled_vs_plain", plain[d], distilled)
            record("e2_biased_auxiliary_vs_plain", plain[d], auxiliary)
            ne.setdefault("e2_biased_fm_ne", []).append(next(w for w in [biased["fm_quality"][str(min(config.staleness))]])[-1]["ne_by_domain"][d])
        if "control" in config.claims:
            # No drift, no churn: a stale FM is as good as a fresh one, so the adapter should add about nothing.
            still = dataset("data_static", {"drift": 0.0, "ctr_drift": 0.0, "churn": 0.0})
            fm_static = foundation(still, "fm_static", {})
            k = max(config.staleness)
            for d in range(domains):
                auxiliary = vertical(still, fm_static["das"][str(k)], "auxiliary", d)["ne"]
                adapter = vertical(still, fm_static["das"][str(k)], "adapter", d)["ne"]
                record(f"control_static_adapter_vs_auxiliary_k{k}", auxiliary, adapter)
        log(f"[exfm] experiment seed {seed} done after {time.time() - started:.0f} s")
    return {
        "ok": True,
        "command": "experiment",
        "seeds": config.seeds,
        "config": asdict(config),
        "relative_ne_gain_percent": {name: _summary(values) for name, values in gains.items()},
        "ne": {name: _summary(values) for name, values in ne.items()},
        "seconds": time.time() - started,
    }
