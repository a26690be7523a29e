"""Input generation for imported KernelBench specs: the problem's own get_inputs at a size's constants, under a seed."""
import torch

from .problem import Problem, execute
from .scaling import split_scalars

# Executed problem modules by (module source, size values); a spec is evaluated for many trials at few sizes.
_NAMESPACES = {}
_CACHE_LIMIT = 16


def _namespace(module, values):
    key = (module, tuple(sorted(values.items())))
    namespace = _NAMESPACES.get(key)
    if namespace is None:
        if len(_NAMESPACES) >= _CACHE_LIMIT:
            _NAMESPACES.pop(next(iter(_NAMESPACES)))
        namespace = execute(Problem(module).with_values(values))
        _NAMESPACES[key] = namespace
    return namespace


def generate_problem_inputs(spec, size_name, seed):
    """The tensors get_inputs() returns at the size's constants with torch seeded by `seed` (CPU, contiguous); trailing numbers are the spec's scalars."""
    origin = spec["kernelbench"]
    namespace = _namespace(origin["module"], spec["sizes"][size_name])
    # fork_rng keeps the caller's global generator untouched; get_inputs draws from the global one.
    with torch.random.fork_rng():
        torch.manual_seed(int(seed) & 0xFFFF_FFFF_FFFF)
        tensors, _ = split_scalars(namespace["get_inputs"]())
    expected = len(spec["inputs"])
    if len(tensors) != expected or not all(isinstance(tensor, torch.Tensor) for tensor in tensors):
        raise ValueError(f"get_inputs() of {origin.get('file', 'the problem')} returned {len(tensors)} tensors at size '{size_name}'; the spec declares {expected}")
    return [tensor.detach().cpu().contiguous() for tensor in tensors]
