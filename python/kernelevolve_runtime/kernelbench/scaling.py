"""Estimates a problem's memory and work on the meta device and shrinks its largest size constants to fit a budget."""
import torch
from torch.utils.flop_counter import FlopCounterMode

from .problem import ProblemError, execute

# Budgets of `--scale auto`: tensors (inputs + outputs + weights) and work per reference call on a small CPU machine.
AUTO_MEMORY_BYTES = 512 << 20
AUTO_FLOPS = 1.0e10
# The test size ("small") every imported spec also carries.
SMALL_MEMORY_BYTES = 8 << 20
SMALL_FLOPS = 5.0e8
# Constants below this are left alone (axes, kernel sizes, strides); none is halved below FLOOR.
SCALABLE_MINIMUM = 32
FLOOR = 16


class Footprint:
    """What one reference call touches at given constants: tensors (dtype, shape) in and out, weight bytes, FLOPs, trailing numbers."""

    def __init__(self, inputs, outputs, weight_bytes, flops, numbers=()):
        self.inputs, self.outputs, self.weight_bytes, self.flops = inputs, outputs, weight_bytes, flops
        self.numbers = list(numbers)

    @property
    def bytes(self):
        """Bytes of inputs, outputs and weights together."""
        tensors = self.inputs + self.outputs
        return self.weight_bytes + sum(numel(shape) * dtype.itemsize for dtype, shape in tensors)

    def input_extents(self):
        """Every extent of every input, to tell size constants from axis indices and kernel sizes."""
        return {extent for _, shape in self.inputs for extent in shape}


def numel(shape):
    count = 1
    for extent in shape:
        count *= extent
    return count


def split_scalars(values):
    """(tensors, trailing numbers): KernelBench inputs may end in plain numbers (a scale factor), which become spec scalars."""
    values = list(values) if isinstance(values, (list, tuple)) else [values]
    cut = len(values)
    while cut > 0 and isinstance(values[cut - 1], (int, float)) and not isinstance(values[cut - 1], bool):
        cut -= 1
    return values[:cut], values[cut:]


def _tensors(values, what):
    values = list(values) if isinstance(values, (list, tuple)) else [values]
    described = []
    for position, value in enumerate(values):
        if not isinstance(value, torch.Tensor):
            raise ProblemError(f"{what} {position} is a {type(value).__name__}, not a tensor; only tensor inputs and outputs are supported")
        described.append((value.dtype, list(value.shape)))
    return described


def measure(problem, values):
    """Runs get_inputs, Model and forward on the meta device (no memory, no compute) at the given constants."""
    namespace = execute(problem.with_values(values))
    with torch.device("meta"):
        raw_inputs = namespace["get_inputs"]()
        tensors, numbers = split_scalars(raw_inputs)
        inputs = _tensors(tensors, "input")
        model = namespace["Model"](*namespace["get_init_inputs"]())
        weight_bytes = sum(tensor.numel() * tensor.element_size() for tensor in list(model.parameters()) + list(model.buffers()))
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            raw_outputs = model(*raw_inputs)
    return Footprint(inputs, _tensors(raw_outputs, "output"), weight_bytes, float(counter.get_total_flops()), numbers)


def fits(footprint, memory_bytes, flops):
    """Whether a footprint is within both budgets (None: no limit)."""
    return (memory_bytes is None or footprint.bytes <= memory_bytes) and (flops is None or footprint.flops <= flops)


def shrink(problem, values, memory_bytes, flops, allowed=None):
    """Halves the largest scalable constant until the footprint fits; returns (values, footprint), raising when it cannot fit."""
    values = dict(values)
    footprint = measure(problem, values)
    extents = footprint.input_extents()
    # A constant is a size when its value is an input extent; axis indices and kernel sizes are not.
    candidates = {name for name, value in values.items() if value >= SCALABLE_MINIMUM and value in extents}
    if allowed is not None:
        candidates &= set(allowed)
    while not fits(footprint, memory_bytes, flops):
        scalable = sorted((name for name in candidates if values[name] // 2 >= FLOOR), key=lambda name: (-values[name], name))
        if not scalable:
            raise ProblemError(f"cannot shrink below the budget ({footprint.bytes / 2**20:.0f} MiB, {footprint.flops:.3g} FLOPs left; "
                               f"budget {_budget_text(memory_bytes, flops)})")
        name = scalable[0]
        # Constants that must stay equal (a broadcast of (B, D) by (B,)) are halved together when one alone fails.
        tied = [other for other in scalable if values[other] == values[name]]
        for group in ([name], tied) if len(tied) > 1 else ([name],):
            trial = dict(values, **{member: values[member] // 2 for member in group})
            try:
                footprint = measure(problem, trial)
            except Exception:  # noqa: BLE001 - a size the problem rejects (e.g. a shape check) is skipped, not fatal
                continue
            values = trial
            break
        else:
            candidates.discard(name)
    return values, footprint


def _budget_text(memory_bytes, flops):
    parts = []
    if memory_bytes is not None:
        parts.append(f"{memory_bytes / 2**20:.0f} MiB")
    if flops is not None:
        parts.append(f"{flops:.3g} FLOPs")
    return ", ".join(parts) or "none"


def probe(problem, values):
    """A footprint with every size-like constant nudged to a distinct value, so each extent names one constant; (None, None) if rejected."""
    extents = measure(problem, values).input_extents()
    nudged = dict(values)
    for offset, name in enumerate(sorted(name for name, value in values.items() if value >= 2 and value in extents), start=1):
        nudged[name] = values[name] + offset
    try:
        return nudged, measure(problem, nudged)
    except Exception:  # noqa: BLE001 - shapes tied by the problem (broadcasts, groups) reject the nudge
        return None, None


def scale_factors(original, scaled):
    """original / scaled for every constant that changed."""
    return {name: round(original[name] / scaled[name], 4) for name in original if scaled[name] != original[name]}
