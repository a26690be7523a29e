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


def generate_problem_inputs(spec, size_name, seed, device=None):
    """The tensors get_inputs() returns at the size's constants with torch seeded by `seed`; trailing numbers are the spec's scalars.

    device=None: on the host (CPU, contiguous), as before. device='cuda' (or any torch device): get_inputs runs with that
    device as torch's default device, so `torch.rand(batch, dim)` draws there from that device's generator, seeded by the
    same torch.manual_seed (KernelBench's own set_seed seeds the CPU and CUDA generators alike); tensors a problem creates
    on an explicit device are moved. The values differ from the host's (another generator), the distributions do not.
    """
    origin = spec["kernelbench"]
    namespace = _namespace(origin["module"], spec["sizes"][size_name])
    target = None if device is None else torch.device(device)
    devices = []
    if target is not None and target.type == "cuda":
        devices = [target.index if target.index is not None else torch.cuda.current_device()]
    # fork_rng keeps the caller's global generators untouched; get_inputs draws from the global ones.
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed) & 0xFFFF_FFFF_FFFF)
        if target is None:
            tensors, _ = split_scalars(namespace["get_inputs"]())
        else:
            with target:
                tensors, _ = split_scalars(namespace["get_inputs"]())
    expected = len(spec["inputs"])
    if len(tensors) != expected or not all(isinstance(tensor, torch.Tensor) for tensor in tensors):
        raise ValueError(f"get_inputs() of {origin.get('file', 'the problem')} returned {len(tensors)} tensors at size '{size_name}'; the spec declares {expected}")
    return [tensor.detach().to(target if target is not None else "cpu").contiguous() for tensor in tensors]
