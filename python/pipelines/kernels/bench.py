"""Swap kernels into a pipeline and measure its steps before and after, side by side in one process.

For each step kind: the step's outputs from a fixed state (loss and updated parameters for training, predictions and
embeddings for inference) with the torch ops and with the kernels must agree within tolerance (`outputs_match`);
then rounds alternate torch and swapped (the order flips every round, so drift in machine load hits both), and the
median step time of each gives the speed-up (the minima are reported too: on a shared machine they are the step
without competition). Nothing is cached between the two: the same step objects run both.
"""
from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Any, Dict

import torch

from . import swap
from .artifacts import ArtifactError, load_artifact
from .steps import build_steps

HERE = os.path.dirname(os.path.abspath(__file__))
OPTIMISED = os.path.join(HERE, "optimised")


def default_kernels(language: str = "cpu") -> Dict[str, str]:
    """The committed optimised kernels (pipelines/kernels/optimised/<language>/<op>.<ext>), by swappable operator."""
    folder = os.path.join(OPTIMISED, language)
    kernels = {}
    if os.path.isdir(folder):
        for name in sorted(os.listdir(folder)):
            stem, ext = os.path.splitext(name)
            if ext in (".cpp", ".py") and stem in swap.ops():
                kernels[stem] = os.path.join(folder, name)
    return kernels


def seed_kernels(language: str = "cpu") -> Dict[str, str]:
    """The seed baselines (plain, unoptimised) of each swappable operator for a language (cpu or triton), where one exists."""
    from .catalog import SWAP_SPECS

    kernels = {}
    for name, (_, seeds) in SWAP_SPECS.items():
        for platform, folder in seeds():
            if platform == language and folder and os.path.isdir(folder):
                found = sorted(f for f in os.listdir(folder) if f.startswith("baseline."))
                if found:
                    kernels[name] = os.path.join(folder, found[0])
    return kernels


def runs_directory() -> str:
    """Where `kernelevolve optimize` keeps its runs: $KERNELEVOLVE_RUNS, else the repository's runs/."""
    from .catalog import REPOSITORY

    return os.environ.get("KERNELEVOLVE_RUNS") or os.path.join(REPOSITORY, "runs")


def run_best_kernel(op: str, run: str) -> Dict[str, Any]:
    """The best kernel of an optimisation run (a run id under runs_directory(), or a run folder) for a swappable operator;
    the run must have optimised that operator's spec (<pipeline>-<stem>, e.g. aovift-max-pool3d)."""
    import sqlite3

    folder = run if os.path.isdir(run) else os.path.join(runs_directory(), run)
    database = os.path.join(folder, "run.sqlite")
    if not os.path.isfile(database):
        raise ValueError(f"run {run!r}: no run.sqlite under {folder} (runs directory {runs_directory()})")
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        row = connection.execute("select id, spec_id, platform, best_candidate_id, best_fitness from runs").fetchone()
        if row is None or row[3] is None:
            raise ValueError(f"run {run!r} has no correct kernel yet")
        candidate = connection.execute("select kernel_path from candidates where id = ?", (row[3],)).fetchone()
    finally:
        connection.close()
    stem = swap.ops()[op].spec if op in swap.ops() else None
    if stem is None:
        raise ValueError(f"unknown swappable operator {op!r}")
    if not row[1].endswith(stem):
        raise ValueError(f"run {row[0]} optimised spec {row[1]}, not the spec of {op} (*-{stem})")
    return {"path": os.path.join(folder, candidate[0]), "run": row[0], "spec": row[1], "platform": row[2], "candidate": row[3],
            "speedup": row[4]}


def compare_outputs(before: Dict[str, torch.Tensor], after: Dict[str, torch.Tensor], atol: float, rtol: float) -> Dict[str, Any]:
    """Worst absolute difference per output and whether every output is within atol + rtol * |before|."""
    worst, ok, failing = 0.0, True, []
    for name, expected in before.items():
        got = after[name]
        if got.shape != expected.shape:
            ok = False
            failing.append(name)
            continue
        difference = (got.double() - expected.double()).abs()
        worst = max(worst, difference.max().item() if difference.numel() else 0.0)
        if not torch.allclose(got.double(), expected.double(), atol=atol, rtol=rtol):
            ok = False
            failing.append(name)
    return {"outputs_match": ok, "max_abs_difference": worst, "outputs": len(before), "mismatched": failing[:5]}


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def swap_bench(pipeline: str, kernels: Dict[str, str], rounds: int = 5, options: Dict[str, Any] | None = None,
               atol: float = 1e-4, rtol: float = 1e-3, device: str = "cpu", log=None, skip_failing: bool = False) -> Dict[str, Any]:
    """Checks and installs `kernels` (op name -> artifact path) for one pipeline, compares its step outputs with the
    torch ops, and times each step kind before/after over alternating rounds; returns the figures. A kernel that cannot
    be built or fails its check raises, or with `skip_failing` stays torch and is listed under `refused`."""
    log = log or (lambda message: None)
    options = dict(options or {})
    relevant = {name: path for name, path in kernels.items() if name.startswith(pipeline + ".")}
    if not relevant:
        raise ValueError(f"no kernel given for a {pipeline} operator; swappable: {', '.join(n for n in swap.ops() if n.startswith(pipeline))}")
    artifacts, refused = {}, {}
    for name, path in relevant.items():
        try:
            artifact = load_artifact(path)
            report = swap.check(name, artifact, device)
            if not report["ok"]:
                raise swap.SwapError(f"kernel {path} for {name} fails the check against the torch code: "
                                     f"{[case for case in report['cases'] if not case.get('ok')][:2]}")
            artifacts[name] = artifact
        except (ArtifactError, swap.SwapError) as error:
            if not skip_failing:
                raise
            refused[name] = str(error)[:2000]
            log(f"{pipeline}: {name} left as torch: {str(error)[:300]}")
    if not artifacts:
        raise swap.SwapError(f"no {pipeline} kernel passed its check: {refused}")
    relevant = {name: relevant[name] for name in artifacts}
    steps = build_steps(pipeline, device=device, **options)
    checks, results = {}, {}
    swap.uninstall()
    for kind in steps.kinds:
        before = steps.outputs(kind)
        with swap.swapped(artifacts, device=device) as reports:
            checks = {name: {"ok": report["ok"], "cases": len(report["cases"])} for name, report in reports.items()}
            after = steps.outputs(kind)
        results[kind] = {"check": compare_outputs(before, after, atol, rtol)}
        log(f"{pipeline} {kind}: outputs match {results[kind]['check']['outputs_match']} "
            f"(max |diff| {results[kind]['check']['max_abs_difference']:.3g})")
    for kind in steps.kinds:
        steps.step(kind)  # warm both paths once
        with swap.swapped(artifacts, verify=False):
            steps.step(kind)
        times: Dict[str, list] = {"torch": [], "swapped": []}
        cpu: Dict[str, list] = {"torch": [], "swapped": []}
        for index in range(rounds):
            order = ("torch", "swapped") if index % 2 == 0 else ("swapped", "torch")
            for mode in order:
                with swap.swapped(artifacts if mode == "swapped" else {}, verify=False):
                    _sync(device)
                    started, started_cpu = time.perf_counter(), time.process_time()
                    steps.step(kind)
                    _sync(device)
                    times[mode].append((time.perf_counter() - started) * 1000)
                    cpu[mode].append((time.process_time() - started_cpu) * 1000)
        before_ms, after_ms = statistics.median(times["torch"]), statistics.median(times["swapped"])
        # The median is the figure; the minimum is what the step takes when nothing else competes for the cores.
        best_before, best_after = min(times["torch"]), min(times["swapped"])
        results[kind].update({"torch_ms": round(before_ms, 3), "swapped_ms": round(after_ms, 3), "speedup": round(before_ms / after_ms, 3),
                              "torch_min_ms": round(best_before, 3), "swapped_min_ms": round(best_after, 3),
                              "speedup_of_minima": round(best_before / best_after, 3),
                              # CPU time of the process (all its threads): on a loaded shared machine, the work done,
                              # unlike wall time, does not grow with the time spent waiting for a core.
                              "torch_cpu_ms": round(statistics.median(cpu["torch"]), 3), "swapped_cpu_ms": round(statistics.median(cpu["swapped"]), 3),
                              "speedup_cpu_time": round(statistics.median(cpu["torch"]) / max(statistics.median(cpu["swapped"]), 1e-9), 3),
                              "torch_samples_ms": [round(t, 2) for t in times["torch"]], "swapped_samples_ms": [round(t, 2) for t in times["swapped"]],
                              "swapped_ops_in_step": [name for name in relevant if f"{pipeline}.{kind}" in swap.ops()[name].used_in]})
        log(f"{pipeline} {kind}: {before_ms:.1f} ms -> {after_ms:.1f} ms ({before_ms / after_ms:.2f}x; CPU time "
            f"{results[kind]['torch_cpu_ms']:.1f} -> {results[kind]['swapped_cpu_ms']:.1f} ms, {results[kind]['speedup_cpu_time']:.2f}x)")
    return {"pipeline": pipeline, "steps": steps.describe(), "device": device, "rounds": rounds, "kernels": {n: a.describe() for n, a in artifacts.items()},
            "kernel_checks": checks, "refused": refused, "results": results, "tolerance": {"atol": atol, "rtol": rtol}}


def machine() -> Dict[str, Any]:
    """What the figures were measured on."""
    model = platform.processor()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {"cpu": model, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info
