"""The ExFM claims at small scale over several seeds: distillation (E1), auxiliary head under FM bias (E2), adapter vs staleness (E3)."""
from __future__ import annotations

import dataclasses
import math
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

CLAIMS = ("e1", "e2", "e3", "control", "fast_drift", "scale")
DEFAULT_CLAIMS = ("e1", "e2", "e3", "control", "fast_drift")  # 'scale' (several FM sizes) is asked for by name

# The experiment's own defaults, under the fields the caller passes: three times the examples per window of
# the data generator's default, so that one pass per window gives the VM enough steps (see docs/exfm.md).
EXPERIMENT_DATA: Dict[str, Any] = {"examples_per_window": 6000}

# Named configurations the caller's data/foundation/vertical fields are laid over (docs/exfm.md says why).
# 'v2': the second design (issue 8): FM 32-dim (282k parameters) against VM 8-dim (59k), 4.8x; the click model's
# interactions all had rank 8, which the VM could already express, so the FM's size bought little.
# 'fm20x': the click model gains full-rank category interactions with a decaying spectrum (data.spectral_matrix,
# shared by every domain), the VM is a 4-dim serving model (30k) and the FM an 80-dim one (660k, 21.7x).
FM20X_FM_MODEL: Dict[str, Any] = {"embedding_dim": 80, "bottom_mlp": [64], "top_mlp": [256, 128], "cross_layers": 2, "cross_rank": 0}
FM20X_VM_MODEL: Dict[str, Any] = {"embedding_dim": 4, "bottom_mlp": [16], "top_mlp": [32], "cross_layers": 1, "cross_rank": 0}
PRESETS: Dict[str, Dict[str, Dict[str, Any]]] = {
    "v2": {"data": {}, "foundation": {}, "vertical": {}},
    "fm20x": {
        "data": {"cross_signal": 0.8, "categories": 64, "context_vocabulary": 32},
        "foundation": {"model": FM20X_FM_MODEL},
        "vertical": {"model": FM20X_VM_MODEL},
    },
}


@dataclass
class ExperimentConfig:
    """Seeds, scale and which claims to run."""

    output: str = ""
    seeds: List[int] = field(default_factory=lambda: [0, 1, 2])
    data: Dict[str, Any] = field(default_factory=dict)  # DataConfig fields over EXPERIMENT_DATA (seed is set per run)
    foundation: Dict[str, Any] = field(default_factory=dict)  # FoundationConfig fields except data/output/staleness
    vertical: Dict[str, Any] = field(default_factory=dict)  # VerticalConfig fields except data/das/output/variant/domain
    staleness: List[int] = field(default_factory=lambda: [1, 2, 4])
    biased_domain: int = -1  # the domain the biased FM mis-calibrates; -1: seed mod domains, so seeds cover every domain
    biased_negative_keep: float = 0.2  # the biased FM keeps this fraction of that domain's negatives (logit shift ~ +1.6)
    biased_keep: float = 1.0  # and this fraction of all its examples (the first design used 0.03 and no negative_keep)
    fast_drift_factor: float = 2.0  # 'fast_drift': drift, ctr_drift and churn of the stream times this factor
    claims: List[str] = field(default_factory=lambda: list(DEFAULT_CLAIMS))
    preset: str = "v2"  # a PRESETS name: the data, FM and VM configuration the fields above are laid over
    fm_sizes: List[int] = field(default_factory=lambda: [16, 80, 192])  # 'scale': FM embedding sizes at the fixed VM
    scale_auxiliary: bool = True  # 'scale' also trains the auxiliary-head VM on each FM (besides the distilled one)
    scalar_adapter: bool = True  # E3 also trains the scalar adapter of the first design (an ablation; 9 more VMs a seed)
    threads: int = 0
    device: str = "cpu"

    def validate(self, path: str) -> None:
        """Checks seeds, claims and the nested configurations before any training starts."""
        if not self.output:
            raise ConfigError(f"{path}.output: a working folder for datasets and checkpoints is required")
        if not self.seeds:
            raise ConfigError(f"{path}.seeds: at least one seed")
        if self.preset not in PRESETS:
            raise ConfigError(f"{path}.preset: expected one of {', '.join(PRESETS)}, got {self.preset!r}")
        if "scale" in self.claims and (not self.fm_sizes or min(self.fm_sizes) < 1):
            raise ConfigError(f"{path}.fm_sizes: the 'scale' claim needs a non-empty list of embedding sizes >= 1")
        unknown = [c for c in self.claims if c not in CLAIMS]
        if unknown:
            raise ConfigError(f"{path}.claims: unknown {unknown}; choose from {', '.join(CLAIMS)}")
        for key in ("data", "output", "staleness", "domain_weights", "negative_keep", "device", "threads"):
            if key in self.foundation:
                raise ConfigError(f"{path}.foundation.{key}: set by the experiment itself")
        for key in ("data", "das", "output", "variant", "domain", "device", "threads", "adapter_context"):
            if key in self.vertical:
                raise ConfigError(f"{path}.vertical.{key}: set by the experiment itself")
        data = from_dict(DataConfig, self.data_fields(), f"{path}.data")
        if not -1 <= self.biased_domain < data.domains:
            raise ConfigError(f"{path}.biased_domain: must be -1 (rotate with the seed) or in 0..{data.domains - 1}")
        if not 0 < self.biased_negative_keep <= 1 or not 0 < self.biased_keep <= 1:
            raise ConfigError(f"{path}.biased_negative_keep and biased_keep: keep fractions in (0, 1]")
        if self.fast_drift_factor <= 1:
            raise ConfigError(f"{path}.fast_drift_factor: must be above 1 (the fast stream drifts faster than the default one)")
        if not self.staleness or min(self.staleness) < 1:
            raise ConfigError(f"{path}.staleness: a non-empty list of integers >= 1")
        from_dict(FoundationConfig, {**self.foundation_fields(), "data": "-", "output": "-"}, f"{path}.foundation")
        from_dict(VerticalConfig, {**self.vertical_fields(), "data": "-"}, f"{path}.vertical")
        check_device(self.device, path)

    def data_fields(self) -> Dict[str, Any]:
        """DataConfig fields: the experiment's defaults, then the preset's, then the caller's."""
        return {**EXPERIMENT_DATA, **PRESETS[self.preset]["data"], **self.data}

    def foundation_fields(self) -> Dict[str, Any]:
        """FoundationConfig fields of the preset under the caller's (a caller's 'model' replaces the preset's)."""
        return {**PRESETS[self.preset]["foundation"], **self.foundation}

    def vertical_fields(self) -> Dict[str, Any]:
        """VerticalConfig fields of the preset under the caller's."""
        return {**PRESETS[self.preset]["vertical"], **self.vertical}


def parameter_counts(config: ExperimentConfig) -> Dict[str, int]:
    """Parameters of the experiment's FM, of its plain VM (the serving model), and of each 'scale' FM, without training."""
    from .data import ClickModel
    from .model import Dlrm

    data = from_dict(DataConfig, config.data_fields())
    click = ClickModel(data)
    vocabulary = {"user": click.user_capacity, "ad": click.ad_capacity, "ad_category": data.categories, "domain": data.domains,
                  "user_history": data.categories, "context": data.context_vocabulary}
    foundation = from_dict(FoundationConfig, {**config.foundation_fields(), "data": "-", "output": "-"})
    vertical = from_dict(VerticalConfig, {**config.vertical_fields(), "data": "-"})
    counts = {"fm": Dlrm(vocabulary, data.dense_features, foundation.model).parameter_count(),
              "vm": Dlrm(vocabulary, data.dense_features, vertical.model).parameter_count()}
    for size in config.fm_sizes:
        model = dataclasses.replace(foundation.model, embedding_dim=size)
        counts[f"fm_d{size}"] = Dlrm(vocabulary, data.dense_features, model).parameter_count()
    return counts


def _summary(values: List[float]) -> dict:
    """Mean, sample standard deviation, t statistic of the mean against 0, how many are positive, and the values."""
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    mean = statistics.fmean(values)
    t = mean / (std / math.sqrt(len(values))) if std > 0 else 0.0
    return {"mean": mean, "std": std, "t": t, "positive": sum(v > 0 for v in values), "values": values}


def scale_table(gains: Dict[str, Dict[str, Any]], diagnostics: Dict[str, Dict[str, Any]]) -> List[dict]:
    """The transfer-ratio trend: per FM size, the FM's NE gain over the plain VM, the VMs' gains from it, and their ratio.

    transfer ratio = mean VM gain from the FM (distilled vs plain) / mean FM gain over the plain VM, both in % of
    the plain VM's NE on fresh windows: the share of the FM's advantage the VM keeps. A size is left out where a
    part is missing (the auxiliary-head columns are optional).
    """
    rows = []
    sizes = sorted({int(name.rsplit("_d", 1)[1]) for name in gains if name.startswith("scale_fm_vs_plain_d")})
    for size in sizes:
        fm, distilled = gains.get(f"scale_fm_vs_plain_d{size}"), gains.get(f"scale_distilled_vs_plain_d{size}")
        auxiliary, ratio = gains.get(f"scale_auxiliary_vs_plain_d{size}"), diagnostics.get(f"scale_parameter_ratio_d{size}")
        if not (fm and distilled and ratio):
            continue
        fm_mean = statistics.fmean(fm["values"])
        row = {"embedding_dim": size, "parameter_ratio": statistics.fmean(ratio["values"]), "pairs": len(fm["values"])}
        for name, summary in (("fm_gain", fm), ("distilled_gain", distilled), ("auxiliary_gain", auxiliary)):
            if summary:
                row[name] = {key: value for key, value in _summary(summary["values"]).items() if key != "values"}
        row["transfer_ratio_distilled"] = statistics.fmean(distilled["values"]) / fm_mean if fm_mean else float("nan")
        if auxiliary:
            row["transfer_ratio_auxiliary"] = statistics.fmean(auxiliary["values"]) / fm_mean if fm_mean else float("nan")
        rows.append(row)
    return rows


def _paired(later: List[float], earlier: List[float]) -> dict:
    """later - earlier per (seed, domain) pair: mean, sample std, standard error, t statistic and how many pairs rose.

    The gains of one pair share their seed's stream, FM and plain VM, so their difference cancels most of the
    seed-to-seed spread that the unpaired standard deviations of each gain carry.
    """
    differences = [b - a for a, b in zip(earlier, later)]
    n = len(differences)
    mean = statistics.fmean(differences)
    std = statistics.stdev(differences) if n > 1 else 0.0
    error = std / math.sqrt(n) if n > 1 else 0.0
    return {"mean": mean, "std": std, "stderr": error, "t": mean / error if error > 0 else 0.0, "rose": sum(d > 0 for d in differences), "pairs": n}


def trends(gains: Dict[str, Dict[str, Any]], staleness: List[int]) -> Dict[str, dict]:
    """E3 as paired differences: does the adapter's gain over the auxiliary head grow with staleness and drift speed?

    `gains` maps names to summaries with per-pair `values` in the same (seed, domain) order. A trend is
    left out where one side is missing or the sides hold different numbers of pairs (merged runs that did
    not all run the same claims).
    """
    values = {name: summary["values"] for name, summary in gains.items()}
    wanted: Dict[str, tuple] = {}
    ks = sorted(set(staleness))
    for low, high in zip(ks, ks[1:]):
        wanted[f"e3_adapter_gain_k{high}_minus_k{low}"] = (f"e3_adapter_vs_auxiliary_k{high}", f"e3_adapter_vs_auxiliary_k{low}")
    if len(ks) > 2:
        wanted[f"e3_adapter_gain_k{ks[-1]}_minus_k{ks[0]}"] = (f"e3_adapter_vs_auxiliary_k{ks[-1]}", f"e3_adapter_vs_auxiliary_k{ks[0]}")
    k = ks[-1]
    wanted[f"e3_adapter_gain_drift_minus_static_k{k}"] = (f"e3_adapter_vs_auxiliary_k{k}", f"control_static_adapter_vs_auxiliary_k{k}")
    wanted[f"e3_adapter_gain_fast_minus_drift_k{k}"] = (f"fast_drift_adapter_vs_auxiliary_k{k}", f"e3_adapter_vs_auxiliary_k{k}")
    out = {}
    for name, (later, earlier) in wanted.items():
        if later in values and earlier in values and len(values[later]) == len(values[earlier]) > 0:
            out[name] = _paired(values[later], values[earlier])
    return out


def run_experiment(config: ExperimentConfig) -> dict:
    """Runs every requested claim for every seed and aggregates relative NE gains (percent, higher is better)."""
    started = time.time()
    gains: Dict[str, List[float]] = {}
    ne: Dict[str, List[float]] = {}
    diagnostics: Dict[str, List[float]] = {}
    data_fields = config.data_fields()
    foundation_fields, vertical_fields = config.foundation_fields(), config.vertical_fields()
    domains = int(data_fields.get("domains", DataConfig.domains))

    def record(name: str, baseline: float, candidate: float) -> None:
        gains.setdefault(name, []).append(relative_ne_gain(baseline, candidate))

    def note(name: str, value: float) -> None:
        diagnostics.setdefault(name, []).append(value)

    for seed in config.seeds:
        root = os.path.join(config.output, f"seed{seed}")
        common = {"threads": config.threads, "device": config.device}

        def dataset(name: str, overrides: Dict[str, Any]) -> str:
            data_config = from_dict(DataConfig, {**data_fields, **overrides, "seed": seed})
            batch, meta = generate_stream(data_config)
            folder = os.path.join(root, name)
            write_dataset(folder, batch, meta)
            return folder

        def foundation(data: str, name: str, bias: Dict[str, Dict[str, float]], model: Dict[str, Any] | None = None) -> dict:
            fields = {**foundation_fields, **({"model": model} if model else {})}
            return train_foundation(from_dict(FoundationConfig, {**fields, **common, **bias, "data": data, "output": os.path.join(root, name), "staleness": config.staleness, "seed": seed}))

        trained: Dict[tuple, dict] = {}

        def vertical(data: str, das: str, variant: str, domain: int, context: bool = True) -> dict:
            # Training is deterministic, so a VM asked for twice (the 'scale' claim and E1/E3 share the main FM's) is trained once.
            key = (data, das, variant, domain, context)
            if key in trained:
                return trained[key]
            result = trained[key] = train_vertical(from_dict(VerticalConfig, {**vertical_fields, **common, "data": data, "das": das, "variant": variant, "domain": domain, "seed": seed, "adapter_context": context}))
            label = variant if context or variant != "adapter" else "adapter_scalar"
            source = f"{os.path.basename(os.path.dirname(das))}/{os.path.basename(das)}" if das else "none"
            ne.setdefault(f"{label}@{source}/{os.path.basename(data)}", []).append(result["ne"])
            return result

        data = dataset("data", {})
        k1 = str(min(config.staleness))
        plain: Dict[int, float] = {}
        distilled: Dict[int, float] = {}
        auxiliary_k1: Dict[int, float] = {}
        if {"e1", "e3", "e2", "scale"} & set(config.claims):
            for d in range(domains):
                result = vertical(data, "", "plain", d)
                plain[d] = result["ne"]
                vm_parameters = result["parameters"]
                note("oracle_ne", result["oracle_ne"])
        if {"e1", "e3", "e2"} & set(config.claims):
            fm = foundation(data, "fm", {})
            note("fm_parameters", fm["parameters"])
            note("vm_parameters", vm_parameters)
            note("fm_vm_parameter_ratio", fm["parameters"] / vm_parameters)
        if "scale" in config.claims:
            # The transfer-ratio trend: FMs of several sizes (embedding dimension; the rest as the main FM) at the
            # fixed VM, each scored on fresh windows (k = the smallest staleness) against the plain VM, and the VMs'
            # gains from distilling it.
            main_model = dataclasses.asdict(from_dict(FoundationConfig, {**foundation_fields, "data": "-", "output": "-"}).model)
            for size in config.fm_sizes:
                # The main FM is reused where it has this size (same stream, same configuration: the same model).
                main = fm if {"e1", "e3", "e2"} & set(config.claims) and size == main_model["embedding_dim"] else None
                sized = main or foundation(data, f"fm_d{size}", {}, {**main_model, "embedding_dim": size})
                note(f"scale_parameter_ratio_d{size}", sized["parameters"] / vm_parameters)
                for d in range(domains):
                    result_distilled = vertical(data, sized["das"][k1], "distilled", d)
                    record(f"scale_fm_vs_plain_d{size}", plain[d], result_distilled["fm_ne"])
                    record(f"scale_distilled_vs_plain_d{size}", plain[d], result_distilled["ne"])
                    if config.scale_auxiliary:
                        record(f"scale_auxiliary_vs_plain_d{size}", plain[d], vertical(data, sized["das"][k1], "auxiliary", d)["ne"])
        if "e1" in config.claims:
            for d in range(domains):
                result = vertical(data, fm["das"][k1], "distilled", d)
                distilled[d] = result["ne"]
                record("e1_distilled_vs_plain", plain[d], distilled[d])
                # The FM itself against the plain VM on the same fresh windows (the FM/VM gap).
                record("fm_vs_plain_k1", plain[d], result["fm_ne"])
                note("fm_ne_k1", result["fm_ne"])
        if "e3" in config.claims:
            for k in config.staleness:
                note(f"fm_unseen_ad_share_k{k}", fm["unseen_share"][str(k)])
                for d in range(domains):
                    result = vertical(data, fm["das"][str(k)], "auxiliary", d)
                    auxiliary = result["ne"]
                    note(f"fm_ne_k{k}", result["fm_ne"])
                    if str(k) == k1:
                        auxiliary_k1[d] = auxiliary
                    adapted = vertical(data, fm["das"][str(k)], "adapter", d)
                    adapter = adapted["ne"]
                    # How much each adapter improves the FM as a teacher (scored before training on each window).
                    note(f"e3_adapted_teacher_vs_fm_k{k}", relative_ne_gain(result["fm_ne"], adapted["adapter_ne"]))
                    record(f"e3_auxiliary_vs_plain_k{k}", plain[d], auxiliary)
                    record(f"e3_adapter_vs_plain_k{k}", plain[d], adapter)
                    record(f"e3_adapter_vs_auxiliary_k{k}", auxiliary, adapter)
                    if config.scalar_adapter:
                        scalar_result = vertical(data, fm["das"][str(k)], "adapter", d, context=False)
                        note(f"e3_scalar_adapted_teacher_vs_fm_k{k}", relative_ne_gain(result["fm_ne"], scalar_result["adapter_ne"]))
                        record(f"e3_scalar_adapter_vs_auxiliary_k{k}", auxiliary, scalar_result["ne"])
        if distilled and auxiliary_k1:
            # The same comparison as E2 with the unbiased FM: what the auxiliary head costs when there is no bias.
            for d in range(domains):
                record("e2_unbiased_auxiliary_vs_distilled", distilled[d], auxiliary_k1[d])
        if "e2" in config.claims:
            d = config.biased_domain if config.biased_domain >= 0 else seed % domains
            bias = {"negative_keep": {str(d): config.biased_negative_keep}, "domain_weights": {str(d): config.biased_keep} if config.biased_keep < 1 else {}}
            biased = foundation(data, "fm_biased", bias)
            das = biased["das"][k1]
            # Calibration and NE of both FMs on the biased domain over the windows the VMs are scored on.
            first_scored = int(config.vertical.get("start_window", VerticalConfig.start_window)) + 1
            for name, source in (("biased", biased), ("unbiased", fm)):
                scored = [w for w in source["fm_quality"][k1] if w["window"] >= first_scored]
                note(f"e2_{name}_fm_calibration", statistics.fmean(w["calibration_by_domain"][d] for w in scored))
            result = vertical(data, das, "distilled", d)
            note("e2_biased_fm_ne", result["fm_ne"])
            biased_distilled = result["ne"]
            biased_auxiliary = vertical(data, das, "auxiliary", d)["ne"]
            record("e2_biased_auxiliary_vs_distilled", biased_distilled, biased_auxiliary)
            record("e2_biased_distilled_vs_plain", plain[d], biased_distilled)
            record("e2_biased_auxiliary_vs_plain", plain[d], biased_auxiliary)
        def adapter_vs_auxiliary_on(stream: str, overrides: Dict[str, Any], label: str) -> None:
            """Auxiliary head against the adapter at the largest staleness, on the stream with other drift settings."""
            data_stream = dataset(f"data_{stream}", overrides)
            das = foundation(data_stream, f"fm_{stream}", {})["das"][str(max(config.staleness))]
            for d in range(domains):
                auxiliary = vertical(data_stream, das, "auxiliary", d)["ne"]
                adapter = vertical(data_stream, das, "adapter", d)["ne"]
                record(f"{label}_adapter_vs_auxiliary_k{max(config.staleness)}", auxiliary, adapter)

        if "control" in config.claims:
            # No drift, no churn: a stale FM is as good as a fresh one, so the adapter should add about nothing.
            adapter_vs_auxiliary_on("static", {"drift": 0.0, "ctr_drift": 0.0, "churn": 0.0}, "control_static")
        if "fast_drift" in config.claims:
            # The same stream drifting faster (preference rotation, CTR random walk and id churn times the factor):
            # a stale FM's error grows with the drift, so the adapter should gain more than on the default stream.
            factor, defaults = config.fast_drift_factor, from_dict(DataConfig, data_fields)
            adapter_vs_auxiliary_on("fast", {"drift": defaults.drift * factor, "ctr_drift": defaults.ctr_drift * factor,
                                             "churn": min(0.9, defaults.churn * factor)}, "fast_drift")
        log(f"[exfm] experiment seed {seed} done after {time.time() - started:.0f} s")
    gain_summaries = {name: _summary(values) for name, values in gains.items()}
    diagnostic_summaries = {name: _summary(values) for name, values in diagnostics.items()}
    return {
        "ok": True,
        "command": "experiment",
        "seeds": config.seeds,
        "config": asdict(config),
        "relative_ne_gain_percent": gain_summaries,
        "scale": scale_table(gain_summaries, diagnostic_summaries),
        "trends": trends({name: {"values": values} for name, values in gains.items()}, config.staleness),
        "ne": {name: _summary(values) for name, values in ne.items()},
        "diagnostics": diagnostic_summaries,
        "seconds": time.time() - started,
    }


def merge_experiments(results: List[dict]) -> dict:
    """Pools the per-seed values of several experiment results (e.g. one run per seed) into one summary."""
    if not results:
        raise ConfigError("args.inputs: at least one experiment result")
    merged: Dict[str, Dict[str, List[float]]] = {"relative_ne_gain_percent": {}, "ne": {}, "diagnostics": {}}
    seeds: List[int] = []
    failed = [r for r in results if r.get("ok") is False]  # a run that stopped with an error line adds nothing
    results = [r for r in results if r.get("ok") is not False]
    for result in results:
        if result.get("command") != "experiment":
            raise ConfigError("args.inputs: every input must be the JSON result of the experiment command")
        seeds += result["seeds"]
        for section, table in merged.items():
            for name, summary in result.get(section, {}).items():
                table.setdefault(name, []).extend(summary["values"])
    pooled = {section: {name: _summary(values) for name, values in table.items()} for section, table in merged.items()}
    staleness = sorted({k for r in results for k in r.get("config", {}).get("staleness", [])}) or [1, 2, 4]
    return {"ok": True, "command": "experiment", "seeds": seeds, "failed_runs": len(failed), **pooled, "trends": trends(pooled["relative_ne_gain_percent"], staleness),
            "scale": scale_table(pooled["relative_ne_gain_percent"], pooled["diagnostics"]), "seconds": sum(r.get("seconds", 0.0) for r in results)}
