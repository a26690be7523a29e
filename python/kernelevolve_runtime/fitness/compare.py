"""Correctness verdicts, made in the trusted runtime: shapes, dtypes, NaN/Inf, input changes, aliasing, tolerances, precision."""
import hashlib
import math

import torch

from ..contract.spec import FLOAT_DTYPES, tolerance_for

# How far a candidate's error may exceed the fp32 reference's own error against float64.
PRECISION_FACTOR = 64.0
# Error floor in units of the output dtype's epsilon (relative to the output's magnitude).
PRECISION_FLOOR_EPSILONS = 32.0
TORCH_FLOAT = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16, "float64": torch.float64}


class Verdict:
    """The outcome of one trial: passed, or the first failure with its reason, message and mismatch."""

    def __init__(self):
        self.passed = True
        self.reason = None
        self.message = ""
        self.mismatch = None
        self.max_abs_error = None
        self.max_rel_error = None
        self.error_ratio = None

    def fail(self, reason, message, mismatch=None):
        """Records the first failure; later ones are ignored."""
        if self.passed:
            self.passed = False
            self.reason = reason
            self.message = message
            self.mismatch = mismatch
        return self


def finite_or_none(value):
    """A float for JSON, or None for NaN/Inf/None."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def output_digest(tensors):
    """A hash of the outputs' bytes, to spot a result repeated across different inputs."""
    digest = hashlib.sha256()
    for tensor in tensors:
        # reshape(-1): a 0-dim tensor cannot be viewed as bytes of another element size.
        digest.update(tensor.detach().reshape(-1).contiguous().view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def _mismatch(size, name, bad, expected, actual, max_abs_error):
    flat = torch.nonzero(bad.reshape(-1), as_tuple=False)
    first = int(flat[0, 0]) if flat.numel() else 0
    index = []
    remainder = first
    for extent in reversed(list(bad.shape)):
        index.append(remainder % extent if extent else 0)
        remainder = remainder // extent if extent else 0
    return {
        "size": size,
        "output": name,
        "mismatched": int(bad.sum()),
        "total": int(bad.numel()),
        "firstIndex": list(reversed(index)),
        "expected": finite_or_none(expected.reshape(-1)[first]) if expected.numel() else None,
        "actual": finite_or_none(actual.reshape(-1)[first]) if actual.numel() else None,
        "maxAbsError": finite_or_none(max_abs_error),
    }


def _finite_sum(tensor):
    return math.isfinite(float(tensor.sum()))


def _all_finite_check(verdict, spec, tensor_spec, candidate, reference, expected64):
    """The common case (reference and candidate finite everywhere) without masks or boolean indexing.

    Returns True when it reached a verdict (passed, or precision_downgrade); False hands over to the
    general path, which also builds the mismatch report of a wrong output.
    """
    # A finite sum proves every element finite (NaN and Inf propagate); an overflowing sum takes the general path.
    if not (_finite_sum(reference) and _finite_sum(candidate)):
        return False
    dtype = tensor_spec["dtype"]
    difference = torch.sub(candidate, reference).abs_()
    reference_abs = reference.abs()
    magnitude = float(reference_abs.max())
    atol, rtol = tolerance_for(spec, dtype)
    scale = min(1.0, magnitude) if magnitude > 0 else 1.0
    bound = torch.mul(reference_abs, rtol).add_(atol * scale)
    if bool(torch.gt(difference, bound).any()):
        return False
    del bound
    max_abs = float(difference.max())
    relative = float(difference.div_(reference_abs.clamp_(min=max(magnitude * 1e-6, 1e-30))).max())
    del difference, reference_abs
    verdict.max_abs_error = max(verdict.max_abs_error or 0.0, max_abs)
    verdict.max_rel_error = max(verdict.max_rel_error or 0.0, relative)
    if dtype not in ("float32", "float16", "bfloat16") or expected64 is None or magnitude <= 0:
        return True
    precise = expected64.double()
    if not _finite_sum(precise):
        return False
    scale64 = float(precise.abs().max())
    if scale64 == 0:
        return True
    candidate_error = float(torch.sub(candidate, precise).abs_().max()) / scale64
    reference_error = float(torch.sub(reference, precise).abs_().max()) / scale64
    _precision_verdict(verdict, tensor_spec, candidate_error, reference_error)
    return True


def _precision_verdict(verdict, tensor_spec, candidate_error, reference_error):
    epsilon = torch.finfo(TORCH_FLOAT[tensor_spec["dtype"]]).eps
    allowed = PRECISION_FACTOR * reference_error + PRECISION_FLOOR_EPSILONS * epsilon
    ratio = candidate_error / max(reference_error, epsilon)
    verdict.error_ratio = max(verdict.error_ratio or 0.0, ratio)
    if candidate_error > allowed:
        verdict.fail("precision_downgrade",
                     f"output '{tensor_spec['name']}': error {candidate_error:.2e} of its magnitude vs float64, the fp32 reference's own is {reference_error:.2e} (allowed {allowed:.2e})")


def within_tolerance(spec, tensor_spec, actual, expected):
    """Fast pass for a timed block's stacked outputs: True when every element is within tolerance of a finite reference.

    Computed in float32 (float64 for float64 outputs) without the mismatch report; False sends the caller to check_values.
    """
    dtype = tensor_spec["dtype"]
    if actual.shape != expected.shape:
        return False
    if dtype not in FLOAT_DTYPES:
        return torch.equal(actual, expected)
    work = torch.float64 if dtype == "float64" else torch.float32
    candidate, reference = actual.to(work), expected.to(work)
    if not (_finite_sum(reference.double()) and _finite_sum(candidate.double())):
        return False
    atol, rtol = tolerance_for(spec, dtype)
    reference_abs = reference.abs()
    magnitude = float(reference_abs.max()) if reference.numel() else 0.0
    scale = min(1.0, magnitude) if magnitude > 0 else 1.0
    bound = reference_abs.mul_(rtol).add_(atol * scale)
    return not bool(torch.gt(candidate.sub_(reference).abs_(), bound).any())


def check_values(verdict, spec, size, tensor_spec, actual, expected, expected64):
    """Checks one output (any leading dimensions, e.g. stacked calls of a block) against the reference's; records failures in verdict."""
    name, dtype = tensor_spec["name"], tensor_spec["dtype"]
    candidate = actual.double()
    reference = expected.to(actual.dtype).double() if dtype in FLOAT_DTYPES else expected.double()
    if candidate.numel() == 0:
        return
    if _all_finite_check(verdict, spec, tensor_spec, candidate, reference, expected64):
        return
    finite_reference = torch.isfinite(reference)
    broken = ~torch.isfinite(candidate) & finite_reference
    if bool(broken.any()):
        verdict.fail("nan_or_inf", f"output '{name}' has NaN or Inf where the reference is finite",
                     _mismatch(size, name, broken, reference, candidate, None))
        return
    # Where the reference itself is NaN/Inf, the candidate must agree exactly.
    special = ~finite_reference & ~((candidate == reference) | (torch.isnan(candidate) & torch.isnan(reference)))
    difference = torch.where(finite_reference, (candidate - reference).abs(), torch.zeros_like(candidate))
    max_abs = float(difference.max())
    magnitude = float(reference[finite_reference].abs().max()) if bool(finite_reference.any()) else 0.0
    atol, rtol = tolerance_for(spec, dtype)
    # atol shrinks with small outputs: zeros must not pass a softmax whose values are all below atol.
    scale = min(1.0, magnitude) if magnitude > 0 else 1.0
    bound = atol * scale + rtol * reference.abs()
    bad = (difference > bound) | special
    relative = difference / torch.clamp(reference.abs(), min=max(magnitude * 1e-6, 1e-30))
    verdict.max_abs_error = max(verdict.max_abs_error or 0.0, max_abs)
    verdict.max_rel_error = max(verdict.max_rel_error or 0.0, float(relative[finite_reference].max()) if bool(finite_reference.any()) else 0.0)
    if bool(bad.any()):
        verdict.fail("wrong_output", f"output '{name}': {int(bad.sum())} of {bad.numel()} elements outside atol={atol:g} (scaled by {scale:.3g}), rtol={rtol:g}",
                     _mismatch(size, name, bad, reference, candidate, max_abs))
        return
    if dtype in ("float32", "float16", "bfloat16") and expected64 is not None and magnitude > 0:
        precise = expected64.double()
        precise_finite = torch.isfinite(precise) & finite_reference
        scale64 = float(precise[precise_finite].abs().max()) if bool(precise_finite.any()) else 0.0
        if scale64 == 0:
            return
        candidate_error = float((candidate - precise)[precise_finite].abs().max()) / scale64
        reference_error = float((reference - precise)[precise_finite].abs().max()) / scale64
        _precision_verdict(verdict, tensor_spec, candidate_error, reference_error)


def check_trial(spec, size, actual_outputs, expected, expected64, inputs_before, inputs_after, aliased):
    """Checks one trial's outputs and post-call inputs (all loaded in the runtime) and returns a Verdict."""
    verdict = Verdict()
    if len(actual_outputs) != len(spec["outputs"]):
        return verdict.fail("wrong_shape", f"expected {len(spec['outputs'])} outputs, got {len(actual_outputs)}")
    for (tensor, dtype), tensor_spec, reference in zip(actual_outputs, spec["outputs"], expected):
        if dtype != tensor_spec["dtype"]:
            return verdict.fail("wrong_dtype", f"output '{tensor_spec['name']}' is {dtype}, expected {tensor_spec['dtype']}")
        if list(tensor.shape) != list(reference.shape):
            return verdict.fail("wrong_shape", f"output '{tensor_spec['name']}' has shape {list(tensor.shape)}, expected {list(reference.shape)}")
    if len(inputs_after) != len(inputs_before):
        return verdict.fail("input_modified", "the worker did not hand back every input")
    for (after, _), before, tensor_spec in zip(inputs_after, inputs_before, spec["inputs"]):
        if after.dtype != before.dtype or after.shape != before.shape or not torch.equal(after, before):
            return verdict.fail("input_modified", f"input '{tensor_spec['name']}' was changed by the call")
    if aliased:
        names = ", ".join(spec["outputs"][position]["name"] for position in aliased if position < len(spec["outputs"]))
        return verdict.fail("output_alias", f"output(s) {names} share memory with an input")
    for position, tensor_spec in enumerate(spec["outputs"]):
        precise = expected64[position] if expected64 is not None else None
        check_values(verdict, spec, size, tensor_spec, actual_outputs[position][0], expected[position], precise)
        if not verdict.passed:
            break
    return verdict
