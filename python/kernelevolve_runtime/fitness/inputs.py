"""Deterministic input tensors for a spec at one size and seed, identical in the runtime and in the worker."""
import numpy as np
import torch

from ..contract.shape_expression import evaluate_shape_expression
from ..contract.spec import FLOAT_DTYPES, resolve_shape

TORCH_DTYPES = {
    "float32": torch.float32,
    "float64": torch.float64,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "int32": torch.int32,
    "int64": torch.int64,
    "uint8": torch.uint8,
    "bool": torch.bool,
}

DTYPE_NAMES = {value: key for key, value in TORCH_DTYPES.items()}


def _random_state(seed, size_name, index):
    # A SeedSequence over (seed, size, input index): independent streams, stable across processes.
    size_key = int.from_bytes(size_name.encode("utf-8")[:8].ljust(8, b"\0"), "little")
    return np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, size_key, index])


def _offsets(generator, length, total):
    if length < 1:
        raise ValueError("an offsets tensor needs at least one entry")
    if length == 1:
        return np.array([total], dtype=np.int64) if total else np.zeros(1, dtype=np.int64)
    cuts = np.sort(generator.integers(0, total + 1, size=length - 2)) if length > 2 else np.zeros(0, dtype=np.int64)
    if length >= 4:
        # Guarantee one empty segment so kernels meet the edge case on every trial.
        cuts[1] = cuts[0]
    return np.concatenate([[0], cuts, [total]]).astype(np.int64)


def _values(init, dtype, shape, dimensions, generator):
    kind = init.get("kind") if init else ("normal" if dtype in FLOAT_DTYPES else ("binary" if dtype == "bool" else "integers"))
    count = int(np.prod(shape)) if shape else 1
    if kind == "normal":
        return generator.normal(float(init.get("mean", 0.0)) if init else 0.0, float(init.get("std", 1.0)) if init else 1.0, size=count)
    if kind == "uniform":
        return generator.uniform(float(init.get("low", 0.0)), float(init.get("high", 1.0)), size=count)
    if kind == "integers":
        low = int(evaluate_shape_expression(init.get("low", 0), dimensions)) if init else 0
        high = int(evaluate_shape_expression(init["high"], dimensions)) if init else 10
        if high <= low:
            raise ValueError(f"integers init needs high > low, got low={low} high={high}")
        return generator.integers(low, high, size=count)
    if kind == "offsets":
        if len(shape) != 1:
            raise ValueError("an offsets tensor must be one-dimensional")
        return _offsets(generator, shape[0], int(evaluate_shape_expression(init["total"], dimensions)))
    if kind == "binary":
        return (generator.random(size=count) < float(init.get("probability", 0.5) if init else 0.5)).astype(np.int64)
    if kind == "constant":
        return np.full(count, float(init["value"]))
    raise ValueError(f"unknown init kind '{kind}'")


def generate_inputs(spec, size_name, seed, device=None):
    """Builds the input tensors (contiguous) for one size and seed, in the spec's order.

    device=None: on the host from numpy streams (the values every earlier version produced, bit for bit).
    device='cuda', 'cuda:1', 'cpu', ...: drawn directly on that device from torch generators of that device, with the
    same distributions and the same seeding rule but not the same values as the host streams (offsets tensors, which
    are small, are drawn on the host and copied, so they are identical). KernelBench problems run their own get_inputs
    with that device as the default device, seeded as KernelBench seeds them (torch.manual_seed).
    At KernelBench's full sizes this is what keeps a correctness trial from spending 15 s per input on the host.
    """
    if spec.get("kernelbench"):
        # Imported KernelBench problems draw their inputs from the problem's own get_inputs (kernelbench/generator.py).
        from ..kernelbench.generator import generate_problem_inputs

        return generate_problem_inputs(spec, size_name, seed, device=device)
    if device is not None:
        return _generate_on_device(spec, size_name, seed, torch.device(device))
    dimensions = spec["sizes"][size_name]
    tensors = []
    for index, tensor_spec in enumerate(spec["inputs"]):
        shape = resolve_shape(tensor_spec["shape"], dimensions)
        generator = _random_state(seed, size_name, index)
        values = _values(tensor_spec.get("init"), tensor_spec["dtype"], shape, dimensions, generator)
        tensors.append(_as_tensor(values, tensor_spec["dtype"], shape))
    return tensors


def _device_seed(seed, size_name, index):
    """A 63-bit torch seed from (seed, size, input index) through the host path's SeedSequence: stable across processes."""
    size_key = int.from_bytes(size_name.encode("utf-8")[:8].ljust(8, b"\0"), "little")
    state = np.random.SeedSequence([seed & 0xFFFFFFFFFFFFFFFF, size_key, index]).generate_state(2, np.uint32)
    return (int(state[0]) | (int(state[1]) << 32)) & 0x7FFFFFFFFFFFFFFF


def _device_values(init, dtype_name, shape, dimensions, generator, device):
    """One input drawn on `device` (see generate_inputs); float kinds draw in float32 (float64 for float64 tensors)."""
    kind = init.get("kind") if init else ("normal" if dtype_name in FLOAT_DTYPES else ("binary" if dtype_name == "bool" else "integers"))
    work = torch.float64 if dtype_name == "float64" else torch.float32
    if kind == "normal":
        values = torch.randn(shape, generator=generator, device=device, dtype=work)
        mean, std = (float(init.get("mean", 0.0)), float(init.get("std", 1.0))) if init else (0.0, 1.0)
        if std != 1.0:
            values.mul_(std)
        if mean != 0.0:
            values.add_(mean)
    elif kind == "uniform":
        low, high = float(init.get("low", 0.0)), float(init.get("high", 1.0))
        values = torch.rand(shape, generator=generator, device=device, dtype=work).mul_(high - low).add_(low)
    elif kind == "integers":
        low = int(evaluate_shape_expression(init.get("low", 0), dimensions)) if init else 0
        high = int(evaluate_shape_expression(init["high"], dimensions)) if init else 10
        if high <= low:
            raise ValueError(f"integers init needs high > low, got low={low} high={high}")
        values = torch.randint(low, high, shape, generator=generator, device=device, dtype=torch.int64)
    elif kind == "binary":
        probability = float(init.get("probability", 0.5) if init else 0.5)
        values = torch.rand(shape, generator=generator, device=device, dtype=torch.float32) < probability
    elif kind == "constant":
        values = torch.full(shape, float(init["value"]), device=device, dtype=work)
    else:
        raise ValueError(f"unknown init kind '{kind}'")
    if dtype_name == "bool":
        return (values != 0).contiguous()
    return values.to(TORCH_DTYPES[dtype_name]).contiguous()


def _generate_on_device(spec, size_name, seed, device):
    dimensions = spec["sizes"][size_name]
    tensors = []
    for index, tensor_spec in enumerate(spec["inputs"]):
        shape = resolve_shape(tensor_spec["shape"], dimensions)
        init = tensor_spec.get("init")
        if init and init.get("kind") == "offsets":
            # Small and order-sensitive: the host path's values, copied.
            values = _values(init, tensor_spec["dtype"], shape, dimensions, _random_state(seed, size_name, index))
            tensors.append(_as_tensor(values, tensor_spec["dtype"], shape).to(device))
            continue
        generator = torch.Generator(device=device)
        generator.manual_seed(_device_seed(seed, size_name, index))
        tensors.append(_device_values(init, tensor_spec["dtype"], list(shape), dimensions, generator, device))
    return tensors


def _as_tensor(values, dtype_name, shape):
    dtype = TORCH_DTYPES[dtype_name]
    if dtype_name in FLOAT_DTYPES:
        tensor = torch.from_numpy(np.asarray(values, dtype=np.float64)).to(dtype)
    elif dtype_name == "bool":
        tensor = torch.from_numpy(np.asarray(values) != 0)
    else:
        tensor = torch.from_numpy(np.asarray(values).astype(np.int64)).to(dtype)
    return tensor.reshape(shape).contiguous()


def generate_input_sets(spec, size_name, seed, count):
    """`count` independent input sets for one size, stacked per input ([count, *shape]); each set follows the spec's init rules.

    Element-wise initialisations draw all sets in one call; offsets tensors and KernelBench inputs are built one set at a time.
    """
    count = int(count)
    if spec.get("kernelbench"):
        sets = [generate_inputs(spec, size_name, (seed * 1_000_003 + index) & 0x7FFFFFFFFFFFFFFF) for index in range(count)]
        return [torch.stack([inputs[position] for inputs in sets]) for position in range(len(sets[0]))]
    dimensions = spec["sizes"][size_name]
    stacked = []
    for index, tensor_spec in enumerate(spec["inputs"]):
        shape = [count, *resolve_shape(tensor_spec["shape"], dimensions)]
        generator = _random_state(seed, size_name, index)
        init = tensor_spec.get("init") or {}
        if init.get("kind") == "offsets":
            # Sorted cuts are not element-wise: one draw per set, each from its own stream.
            total = int(evaluate_shape_expression(init["total"], dimensions))
            rows = [_offsets(_random_state(seed + 7919 * (number + 1), size_name, index), shape[1], total) for number in range(count)]
            stacked.append(_as_tensor(np.stack(rows), tensor_spec["dtype"], shape))
            continue
        fast = _float32_values(tensor_spec.get("init"), tensor_spec["dtype"], shape, generator)
        if fast is not None:
            stacked.append(fast)
            continue
        values = _values(tensor_spec.get("init"), tensor_spec["dtype"], shape, dimensions, generator)
        stacked.append(_as_tensor(values, tensor_spec["dtype"], shape))
    return stacked


def _float32_values(init, dtype, shape, generator):
    """Normal and uniform floats drawn in float32 (several times faster than float64 and a conversion); None otherwise."""
    kind = init.get("kind") if init else "normal"
    if dtype not in FLOAT_DTYPES or dtype == "float64" or kind not in ("normal", "uniform"):
        return None
    count = int(np.prod(shape))
    if kind == "normal":
        values = generator.standard_normal(count, dtype=np.float32)
        std, mean = (float(init.get("std", 1.0)), float(init.get("mean", 0.0))) if init else (1.0, 0.0)
        if std != 1.0:
            values *= np.float32(std)
        if mean != 0.0:
            values += np.float32(mean)
    else:
        low, high = float(init.get("low", 0.0)), float(init.get("high", 1.0))
        values = generator.random(count, dtype=np.float32)
        values *= np.float32(high - low)
        values += np.float32(low)
    return torch.from_numpy(values).to(TORCH_DTYPES[dtype]).reshape(shape)


def output_shapes(spec, size_name):
    """The resolved shapes of the spec's outputs at one size."""
    dimensions = spec["sizes"][size_name]
    return [resolve_shape(tensor["shape"], dimensions) for tensor in spec["outputs"]]


def trial_seed(base_seed, size_index, trial, round_index=0):
    """The seed of one correctness trial; round 1 is re-verification on fresh inputs, round 2 the timing inputs."""
    return base_seed + 100_000 * round_index + 1_000 * size_index + trial
