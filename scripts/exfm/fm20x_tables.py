"""Markdown tables of docs/exfm.md (fm20x section) from the result lines of scripts/exfm/fm20x.sh.

Usage: python scripts/exfm/fm20x_tables.py RESULTS.jsonl [CONTROL.jsonl]
Each line is one job's experiment result (one seed); the job is recognised from its configuration. Gains are relative NE
gains in %, pooled over seed x domain pairs; paired differences use only the seeds both sides ran.
"""
from __future__ import annotations

import json
import math
import statistics
import sys
from typing import Dict, List


def job_of(result: dict) -> str:
    """e13, d<size>, e2, cf, or v2d<size> (the capacity control on the second design's stream)."""
    config = result["config"]
    claims = config["claims"]
    if config.get("data", {}).get("cross_signal") == 0.0:
        return f"v2d{config['fm_sizes'][0]}"
    if "e1" in claims:
        return "e13"
    if claims == ["scale"]:
        return f"d{config['fm_sizes'][0]}"
    if claims == ["e2"]:
        return "e2"
    return "cf"


def load(path: str) -> Dict[str, Dict[int, dict]]:
    jobs: Dict[str, Dict[int, dict]] = {}
    with open(path) as handle:
        for line in handle:
            if line.strip():
                result = json.loads(line)
                if result.get("ok"):
                    jobs.setdefault(job_of(result), {})[result["seeds"][0]] = result
    return jobs


def values(runs: Dict[int, dict], section: str, key: str, seeds: List[int] | None = None) -> List[float]:
    return [v for seed in sorted(runs) if seeds is None or seed in seeds for v in runs[seed][section].get(key, {}).get("values", [])]


def stats(xs: List[float]) -> str:
    if not xs:
        return "not run | | "
    mean = statistics.fmean(xs)
    std = statistics.stdev(xs) if len(xs) > 1 else 0.0
    t = mean / (std / math.sqrt(len(xs))) if std > 0 else float("nan")
    return f"{mean:+.2f} ± {std:.2f} | {t:.1f} | {sum(x > 0 for x in xs)}/{len(xs)}"


def paired(runs_a: Dict[int, dict], key_a: str, runs_b: Dict[int, dict], key_b: str) -> str:
    """b - a per pair over the seeds both ran."""
    seeds = sorted(set(runs_a) & set(runs_b))
    a, b = values(runs_a, "relative_ne_gain_percent", key_a, seeds), values(runs_b, "relative_ne_gain_percent", key_b, seeds)
    return stats([y - x for x, y in zip(a, b)]) + f" | {len(seeds)}" if seeds and len(a) == len(b) else "not run | | | "


def main(paths: List[str]) -> None:
    jobs = load(paths[0])
    control = load(paths[1]) if len(paths) > 1 else {}
    gain = "relative_ne_gain_percent"
    print("seeds per job: " + ", ".join(f"{name} {sorted(runs)}" for name, runs in sorted({**jobs, **control}.items())))
    print("\n| stream, models | FM params | VM params | ratio | FM NE | plain VM NE | FM gain over VM % | t | wins |")
    print("|---|---:|---:|---:|---:|---:|---|---:|---|")
    e13 = jobs.get("e13", {})
    if e13:
        fm_ne = [v for seed in sorted(e13) for v in e13[seed]["diagnostics"]["fm_ne_k1"]["values"][:3]]  # E1's three domains
        plain = values(e13, "ne", "plain@none/data")
        fm_params, vm_params = values(e13, "diagnostics", "fm_parameters")[0], values(e13, "diagnostics", "vm_parameters")[0]
        print(f"| fm20x stream, 80-dim FM vs 4-dim VM | {fm_params:,.0f} | {vm_params:,.0f} | {fm_params / vm_params:.1f}x | {statistics.fmean(fm_ne):.3f} | {statistics.fmean(plain):.3f} | {stats(values(e13, gain, 'fm_vs_plain_k1'))} |")
    for name in sorted(control, key=lambda n: int(n[3:])):
        size, runs = int(name[3:]), control[name]
        ratio = values(runs, "diagnostics", f"scale_parameter_ratio_d{size}")[0]
        plain = values(runs, "ne", "plain@none/data")
        print(f"| second design's stream, {size}-dim FM vs 4-dim VM (control) | | | {ratio:.1f}x | | {statistics.fmean(plain):.3f} | {stats(values(runs, gain, f'scale_fm_vs_plain_d{size}'))} |")
    print("\n| FM embedding | FM/VM params | seeds | FM gain over plain VM % | t | wins | VM gain, distilled % | t | wins | transfer ratio |")
    print("|---|---:|---|---|---:|---|---|---:|---|---:|")
    rows = [(int(name[1:]), runs) for name, runs in jobs.items() if name.startswith("d")]
    rows += [(80, e13)] if e13 else []
    for label, source in (("fm20x stream", sorted(rows, key=lambda r: r[0])), ("control: second design's stream", sorted(((int(n[3:]), r) for n, r in control.items()), key=lambda r: r[0]))):
        for size, runs in source:
            fm, vm = values(runs, gain, f"scale_fm_vs_plain_d{size}"), values(runs, gain, f"scale_distilled_vs_plain_d{size}")
            ratio = values(runs, "diagnostics", f"scale_parameter_ratio_d{size}")[0]
            transfer = statistics.fmean(vm) / statistics.fmean(fm)
            print(f"| {size} ({label}) | {ratio:.1f}x | {sorted(runs)} | {stats(fm)} | {stats(vm)} | {transfer:.2f} |")
    print("\n| paired difference (seed x domain, seeds both ran) | mean ± std | t | rose | seeds |")
    print("|---|---|---:|---|---:|")
    for size in sorted(int(n[1:]) for n in jobs if n.startswith("d")):
        print(f"| FM gain, 80-dim minus {size}-dim | {paired(jobs[f'd{size}'], f'scale_fm_vs_plain_d{size}', e13, 'scale_fm_vs_plain_d80')} |")
        print(f"| VM gain (distilled), 80-dim FM minus {size}-dim FM | {paired(jobs[f'd{size}'], f'scale_distilled_vs_plain_d{size}', e13, 'scale_distilled_vs_plain_d80')} |")
    control_sizes = sorted(int(n[3:]) for n in control)
    for small, large in zip(control_sizes, control_sizes[1:]):
        low, high = control[f"v2d{small}"], control[f"v2d{large}"]
        print(f"| control stream: FM gain, {large}-dim minus {small}-dim | {paired(low, f'scale_fm_vs_plain_d{small}', high, f'scale_fm_vs_plain_d{large}')} |")
        print(f"| control stream: VM gain (distilled), {large}-dim FM minus {small}-dim FM | {paired(low, f'scale_distilled_vs_plain_d{small}', high, f'scale_distilled_vs_plain_d{large}')} |")
    print("\n| claim | gain % | t | wins |")
    print("|---|---|---:|---|")
    e2, cf = jobs.get("e2", {}), jobs.get("cf", {})
    for label, runs, key in (
        ("E1 distilled vs plain (k=1)", e13, "e1_distilled_vs_plain"),
        ("E2 biased FM: auxiliary vs distilled", e2, "e2_biased_auxiliary_vs_distilled"),
        ("E2 biased FM: distilled vs plain", e2, "e2_biased_distilled_vs_plain"),
        ("E2 biased FM: auxiliary vs plain", e2, "e2_biased_auxiliary_vs_plain"),
        ("E2 unbiased FM (k=1): auxiliary vs distilled", e13, "e2_unbiased_auxiliary_vs_distilled"),
        ("auxiliary vs plain, k=1", e13, "e3_auxiliary_vs_plain_k1"),
        ("auxiliary vs plain, k=4", e13, "e3_auxiliary_vs_plain_k4"),
        ("E3 adapter vs auxiliary, k=1", e13, "e3_adapter_vs_auxiliary_k1"),
        ("E3 adapter vs auxiliary, k=4", e13, "e3_adapter_vs_auxiliary_k4"),
        ("E3 adapter vs plain, k=4", e13, "e3_adapter_vs_plain_k4"),
        ("E3 no drift (control): adapter vs auxiliary, k=4", cf, "control_static_adapter_vs_auxiliary_k4"),
        ("E3 fast drift (2x): adapter vs auxiliary, k=4", cf, "fast_drift_adapter_vs_auxiliary_k4"),
    ):
        print(f"| {label} | {stats(values(runs, gain, key))} |")
    print(f"| E3 paired: adapter's gain at k=4 minus at k=1 | {paired(e13, 'e3_adapter_vs_auxiliary_k1', e13, 'e3_adapter_vs_auxiliary_k4')} |")
    print(f"| E3 paired, k=4: default drift minus none | {paired(cf, 'control_static_adapter_vs_auxiliary_k4', e13, 'e3_adapter_vs_auxiliary_k4')} |")
    print(f"| E3 paired, k=4: fast drift minus default | {paired(e13, 'e3_adapter_vs_auxiliary_k4', cf, 'fast_drift_adapter_vs_auxiliary_k4')} |")
    notes = {key: values(runs, "diagnostics", key) for runs, key in (
        (e13, "e3_adapted_teacher_vs_fm_k1"), (e13, "e3_adapted_teacher_vs_fm_k4"), (e13, "fm_ne_k4"),
        (e13, "fm_unseen_ad_share_k1"), (e13, "fm_unseen_ad_share_k4"), (e2, "e2_biased_fm_calibration"), (e2, "e2_unbiased_fm_calibration"))}
    print("\n" + "; ".join(f"{key} {statistics.fmean(v):.3f}" for key, v in notes.items() if v))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
