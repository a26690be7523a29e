"""Runs the spec's reference in the trusted runtime: at the declared dtypes and again in float64."""
import torch

from .inputs import TORCH_DTYPES


class SpecReferenceError(Exception):
    """The spec's reference failed or returned something other than its declared outputs (the spec's fault)."""


def load_reference(source):
    """Executes the reference source and returns its `reference` function."""
    namespace = {"__name__": "reference"}
    try:
        exec(compile(source, "<reference>", "exec"), namespace)  # noqa: S102 - the spec's reference is trusted code
    except Exception as error:  # noqa: BLE001 - any failure is the spec's fault
        raise SpecReferenceError(f"the reference does not load: {type(error).__name__}: {error}") from error
    function = namespace.get("reference")
    if not callable(function):
        raise SpecReferenceError("the reference source defines no function `reference`")
    return function


def _as_list(result, spec):
    outputs = list(result) if isinstance(result, (tuple, list)) else [result]
    if len(outputs) != len(spec["outputs"]) or not all(isinstance(output, torch.Tensor) for output in outputs):
        raise SpecReferenceError(f"the reference returned {len(outputs)} value(s); the spec declares {len(spec['outputs'])} output tensor(s)")
    return outputs


def run_reference(function, spec, inputs):
    """Reference outputs at the spec's dtypes, and in float64 (None where float64 is not supported)."""
    scalars = dict(spec["scalars"])
    with torch.no_grad():
        try:
            native = _as_list(function(*[tensor.clone() for tensor in inputs], **scalars), spec)
        except SpecReferenceError:
            raise
        except Exception as error:  # noqa: BLE001
            raise SpecReferenceError(f"the reference raised {type(error).__name__}: {error}") from error
        native = [output.detach().to(TORCH_DTYPES[tensor["dtype"]]).contiguous() for output, tensor in zip(native, spec["outputs"])]
        promoted = [tensor.double() if tensor.dtype.is_floating_point else tensor.clone() for tensor in inputs]
        try:
            precise = [output.detach().double() for output in _as_list(function(*promoted, **scalars), spec)]
        except Exception:  # noqa: BLE001 - some references only work at their declared dtypes; skip the precision check
            precise = None
    return native, precise
