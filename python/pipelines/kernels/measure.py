"""Measures a pipeline's steps with torch.profiler and ranks the operators by the time they took.

Each step kind (training, inference) is profiled on its own. An operator's row is its self time summed over the
steps (aten ops, device time on CUDA), with the share of all measured operator time, its calls, the steps it ran in,
and its hottest input shapes. The record_function regions of the pipeline (`aovift.*`, `exfm::*`) are ranked apart
(their time overlaps the operators'). `capture_calls` then re-runs a step under a TorchDispatchMode and records the
first call of each hot operator: tensor shapes and dtypes and every non-tensor argument, from which a spec can
rebuild the operator's semantics (e.g. max_pool3d's window, stride and padding).
"""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, Iterable, List

import torch
from torch.profiler import ProfilerActivity, profile, record_function
from torch.utils._python_dispatch import TorchDispatchMode

REGION_PREFIXES = ("aovift.", "exfm::", "swap::")


def _self_time(event, cuda: bool) -> float:
    return float(getattr(event, "self_device_time_total" if cuda else "self_cpu_time_total"))


def measure_steps(steps: Dict[str, Callable[[], Any]], repeats: int = 2, warmup: int = 1, device: str = "cpu") -> Dict[str, Any]:
    """Profiles each named step `repeats` times after `warmup` calls; returns ranked operators and regions."""
    if repeats < 1 or warmup < 0:
        raise ValueError("repeats >= 1 and warmup >= 0 are required")
    cuda = device.startswith("cuda")
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    operators: Dict[str, Dict[str, Any]] = {}
    regions: Dict[str, Dict[str, Any]] = {}
    step_ms: Dict[str, float] = {}
    for kind, run in steps.items():
        for _ in range(warmup):
            run()
        started = time.perf_counter()
        with profile(activities=activities, record_shapes=True) as profiler:
            for _ in range(repeats):
                with record_function(f"step.{kind}"):
                    run()
            if cuda:
                torch.cuda.synchronize()
        step_ms[kind] = (time.perf_counter() - started) * 1000 / repeats
        for event in profiler.key_averages(group_by_input_shape=True):
            if event.key.startswith("aten::"):
                row = operators.setdefault(event.key, {"name": event.key, "self_ms": 0.0, "calls": 0, "steps": {}, "shapes": []})
                ms = _self_time(event, cuda) / 1000 / repeats
                row["self_ms"] += ms
                row["calls"] += event.count / repeats
                row["steps"][kind] = row["steps"].get(kind, 0.0) + ms
                row["shapes"].append({"input_shapes": [list(s) for s in (event.input_shapes or [])], "self_ms": ms, "step": kind})
        # Self time of each aten op spent inside a swappable operator's region (swap::<name>), by operator.
        for event in profiler.events():
            if not event.name.startswith("aten::") or event.name not in operators:
                continue
            parent = event.cpu_parent
            while parent is not None and not parent.name.startswith("swap::"):
                parent = parent.cpu_parent
            if parent is not None:
                inside = operators[event.name].setdefault("inside_swap", {})
                key = parent.name[len("swap::"):]
                inside[key] = inside.get(key, 0.0) + _self_time(event, cuda) / 1000 / repeats
        for event in profiler.key_averages():
            if event.key.startswith(REGION_PREFIXES):
                row = regions.setdefault(event.key, {"name": event.key, "total_ms": 0.0, "calls": 0, "steps": {}})
                ms = (event.device_time_total if cuda else event.cpu_time_total) / 1000 / repeats
                row["total_ms"] += ms
                row["calls"] += event.count / repeats
                row["steps"][kind] = row["steps"].get(kind, 0.0) + ms
    total = sum(row["self_ms"] for row in operators.values()) or 1.0
    ranked = sorted(operators.values(), key=lambda row: row["self_ms"], reverse=True)
    for row in ranked:
        row["share"] = row["self_ms"] / total
        row["shapes"] = sorted(row["shapes"], key=lambda item: item["self_ms"], reverse=True)[:3]
        row["self_ms"] = round(row["self_ms"], 3)
        row["calls"] = round(row["calls"], 2)
        row["steps"] = {kind: round(ms, 3) for kind, ms in row["steps"].items()}
        if "inside_swap" in row:
            row["inside_swap"] = {name: round(ms, 3) for name, ms in row["inside_swap"].items()}
    step_total = sum(step_ms.values()) or 1.0
    ranked_regions = sorted(regions.values(), key=lambda row: row["total_ms"], reverse=True)
    for row in ranked_regions:
        row["share_of_steps"] = row["total_ms"] / step_total
        row["total_ms"] = round(row["total_ms"], 3)
    return {"time_basis": "self device time" if cuda else "self CPU time", "step_ms": {k: round(v, 3) for k, v in step_ms.items()},
            "operator_ms_total": round(total, 3), "operators": ranked, "regions": ranked_regions}


def _describe(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return {"tensor": True, "shape": list(value.shape), "dtype": str(value.dtype).replace("torch.", ""), "contiguous": value.is_contiguous()}
    if isinstance(value, (list, tuple)):
        return [_describe(item) for item in value]
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return repr(value)


class _Recorder(TorchDispatchMode):
    def __init__(self, wanted: Iterable[str]):
        super().__init__()
        self.wanted = set(wanted)
        self.calls: Dict[str, Dict[str, Any]] = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = func._schema.name
        if name in self.wanted and name not in self.calls:
            self.calls[name] = {"overload": str(func), "schema": str(func._schema), "args": [_describe(a) for a in args],
                                "kwargs": {k: _describe(v) for k, v in kwargs.items()}}
        return func(*args, **kwargs)


def capture_calls(run: Callable[[], Any], names: Iterable[str]) -> Dict[str, Dict[str, Any]]:
    """The first call of each named aten operator during one run: overload, schema, described arguments."""
    recorder = _Recorder(names)
    with recorder:
        run()
    return recorder.calls


def hottest(measured: Dict[str, Any], top: int, min_share: float = 0.0) -> List[Dict[str, Any]]:
    """The `top` hottest operators, each at least `min_share` of the measured operator time."""
    return [row for row in measured["operators"] if row["share"] >= min_share][:top]
