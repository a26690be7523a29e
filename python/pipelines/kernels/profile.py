"""Profile a pipeline's training and inference steps, rank the operators measured, write specs for the hottest."""
from __future__ import annotations

from typing import Any, Callable, Dict

from . import swap
from .catalog import write_hot_specs
from .measure import capture_calls, hottest, measure_steps
from .steps import Steps


def profile_steps(steps: Steps, out_dir: str, prefix: str, source: str, to_yaml: Callable[[Any], str], top: int = 6,
                  min_share: float = 0.02, repeats: int = 2, warmup: int = 1, device: str = "cpu") -> Dict[str, Any]:
    """Measures every step kind, then writes specs for the `top` hottest operators that can have one (each at least
    `min_share` of the measured operator time; an operator no spec fits, e.g. bookkeeping or an integer-only op, is
    listed with its reason and does not take a place); returns the ranking (`measured_operators`, first 30) and the
    mapping (`hot_operators`)."""
    measured = measure_steps({kind: (lambda kind=kind: steps.step(kind)) for kind in steps.kinds}, repeats, warmup, device)
    # Enough candidates that `top` of them can be specified however many hot ones cannot (at most 4x top).
    hot = hottest(measured, 4 * top, min_share)
    names = [row["name"] for row in hot]
    calls: Dict[str, dict] = {}
    with swap.observe() as observed:
        for kind in steps.kinds:
            for name, call in capture_calls(lambda: steps.step(kind), names).items():
                calls.setdefault(name, call)
    mapped = write_hot_specs(hot, observed, calls, out_dir, prefix, source, to_yaml, limit=top)
    return {
        "steps": steps.describe(), "time_basis": measured["time_basis"], "step_ms": measured["step_ms"],
        "operator_ms_total": measured["operator_ms_total"],
        "measured_operators": [{key: row[key] for key in ("name", "self_ms", "share", "calls", "steps", "shapes", "inside_swap") if key in row}
                               for row in measured["operators"][:30]],
        "measured_regions": measured["regions"][:20],
        "hot_operators": mapped,
        "operator_spec_paths": list(dict.fromkeys(entry["path"] for entry in mapped if "path" in entry)),
        "swappable": {name: op.description for name, op in swap.ops().items() if name.startswith(prefix.split("-")[0])},
    }
