"""Turns KernelBench-format problem files into kernel specs (dict form of core/spec.ts), scaled to fit this machine when asked."""
import json
import os
import re

import torch

from ..contract.shape_expression import evaluate_shape_expression
from . import scaling
from .problem import Problem, ProblemError, execute, problem_number

INIT_SEED = 42
DTYPE_NAMES = {torch.float32: "float32", torch.float64: "float64", torch.float16: "float16", torch.bfloat16: "bfloat16",
               torch.int32: "int32", torch.int64: "int64", torch.uint8: "uint8", torch.bool: "bool"}
_CATEGORIES = [
    (r"attention", "attention"), (r"conv", "convolution"), (r"matmul|matrix|gemm|linear", "linear"),
    (r"norm", "normalization"), (r"pool", "pooling"), (r"loss", "loss"), (r"cum", "scan"),
    (r"relu|gelu|sigmoid|tanh|swish|selu|elu|softplus|softsign|hardtanh|softmax", "activation"),
    (r"sum|mean|max|min|argmax|argmin|reduction", "reduction"),
]
# Appended to the problem's source to make the spec's reference: the problem's Model, built once under a fixed seed.
_ADAPTER = '''

# KernelEvolve adapter: the spec's reference is this problem's Model, built once with get_init_inputs()
# under a fixed seed (a candidate's ModelNew is built under the same seed, so equal layers get equal weights).
import copy as _kernelevolve_copy
import torch as _kernelevolve_torch

with _kernelevolve_torch.random.fork_rng():
    _kernelevolve_torch.manual_seed({seed})
    _kernelevolve_model = Model(*get_init_inputs()).eval()
_kernelevolve_float64 = []


def reference(*inputs, **scalars):
    """Calls the problem's Model; float64 inputs (the runtime's precision check) go to a float64 copy of it."""
    model = _kernelevolve_model
    if any(isinstance(value, _kernelevolve_torch.Tensor) and value.dtype == _kernelevolve_torch.float64 for value in inputs):
        if not _kernelevolve_float64:
            _kernelevolve_float64.append(_kernelevolve_copy.deepcopy(model).double())
        model = _kernelevolve_float64[0]
    return model(*inputs, **scalars)
'''


def parse_scale(text):
    """'auto', 'none' or a factor in (0, 1] (the share of the full size's bytes to keep)."""
    if text in ("auto", "none"):
        return text
    try:
        factor = float(text)
    except ValueError as error:
        raise ValueError(f"--scale expects auto, none or a factor in (0, 1], got '{text}'") from error
    if not 0 < factor <= 1:
        raise ValueError(f"--scale factor must be in (0, 1], got {factor}")
    return factor


def _slug(text):
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9]+", "-", text.lower())).strip("-")


def _category(title):
    lowered = title.lower()
    return next((category for pattern, category in _CATEGORIES if re.search(pattern, lowered)), "other")


def _jsonable(value, path):
    if isinstance(value, bool) or value is None or isinstance(value, (int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(item, f"{path}[{index}]") for index, item in enumerate(value)]
    raise ProblemError(f"get_init_inputs() returns a {type(value).__name__} at {path}; only numbers, strings, booleans and lists can go into a spec")


def _tensor_name(raw, used):
    name = re.sub(r"[^a-z0-9_]", "_", raw.lower()) or "x"
    if not re.match(r"[a-z_]", name):
        name = f"t_{name}"
    base, counter = name, 1
    while name in used:
        counter += 1
        name = f"{base}_{counter}"
    used.add(name)
    return name


def _forward_argument_names(namespace, count):
    forward = getattr(namespace["Model"], "forward", None)
    code = getattr(forward, "__code__", None)
    names = list(code.co_varnames[1:code.co_argcount]) if code else []
    return [names[index] if index < len(names) else f"input_{index}" for index in range(count)]


def _symbolic(extents, points):
    """An expression over the dimensions giving the extent at every probe point, else the largest extent (an upper bound)."""
    names = list(points[0])
    matches = [name for name in names if all(point[name] == extent for point, extent in zip(points, extents))]
    if matches:
        return matches[0]
    if len(set(extents)) == 1:
        return extents[0]
    for first in names:
        for second in names:
            if first <= second and all(point[first] * point[second] == extent for point, extent in zip(points, extents)):
                return f"{first}*{second}"
    return max(extents)


def _tensor_specs(group, names, footprints, points):
    used, tensors = set(), []
    for position, raw in enumerate(names):
        dtype, shape = getattr(footprints[0], group)[position]
        if dtype not in DTYPE_NAMES:
            raise ProblemError(f"tensor '{raw}' has dtype {dtype}, which specs do not support")
        shapes = [getattr(footprint, group)[position][1] for footprint in footprints]
        if len({len(other) for other in shapes}) != 1:
            shapes = [shape]
        tensors.append({"name": _tensor_name(raw, used), "dtype": DTYPE_NAMES[dtype],
                        "shape": [_symbolic([other[axis] for other in shapes], points[:len(shapes)]) for axis in range(len(shape))]})
    return tensors


_DTYPE_BYTES = {name: torch.empty(0, dtype=dtype).element_size() for dtype, name in DTYPE_NAMES.items()}


def _compulsory_bytes(inputs, outputs, footprints, points):
    """Bytes any correct kernel moves as an expression over the dimensions: each input read once and each output
    written once, counting only tensors whose shape expression is exact at every probe point (an output extent such
    as (H - K) / S + 1 is not expressible; weights are left out too), so it is a lower bound. None when no tensor is exact.

    It becomes the spec's cost.bytes, which gives imported problems the roofline check the seed specs have: an
    achieved bandwidth above what the device can copy is re-verified, and far above it on a large working set, rejected.
    """
    terms = []
    for group, tensors in (("inputs", inputs), ("outputs", outputs)):
        for position, tensor in enumerate(tensors):
            term = "*".join([str(_DTYPE_BYTES[tensor["dtype"]])] + [str(extent) for extent in tensor["shape"]])
            measured = [getattr(footprint, group)[position][1] for footprint in footprints]
            if all(evaluate_shape_expression(term, point) == _DTYPE_BYTES[tensor["dtype"]] * scaling.numel(shape)
                   for point, shape in zip(points, measured)):
                terms.append(term)
    return " + ".join(terms) if terms else None


def _sizes(problem, scale, memory_bytes, flops):
    """(full values, full footprint, bench values, bench footprint, small values, small footprint)."""
    # Dimensions must be positive integers; zero or negative constants (padding = 0, dim = -1) stay literals.
    full = {name: value for name, value in problem.defaults.items() if value >= 1}
    try:
        full_footprint = scaling.measure(problem, full)
    except (ProblemError, ModuleNotFoundError):
        raise
    except Exception as error:  # noqa: BLE001 - the problem's own code failed on the meta device
        raise ProblemError(f"the problem does not run on the meta device: {type(error).__name__}: {error}") from error
    if scale == "none":
        bench, bench_footprint = full, full_footprint
    elif scale == "auto":
        bench, bench_footprint = scaling.shrink(problem, full, memory_bytes, flops)
    else:
        bench, bench_footprint = scaling.shrink(problem, full, int(full_footprint.bytes * scale), None)
    varying = [name for name in full if name not in problem.structural]
    try:
        small, small_footprint = scaling.shrink(problem, bench, scaling.SMALL_MEMORY_BYTES, scaling.SMALL_FLOPS, allowed=varying)
    except ProblemError:
        # Structural constants keep the weights fixed, so the test size may stay above its budget.
        small, small_footprint = bench, bench_footprint
    return full, full_footprint, bench, bench_footprint, small, small_footprint


def import_problem(path, level=None, scale="auto", memory_bytes=scaling.AUTO_MEMORY_BYTES, flops=scaling.AUTO_FLOPS):
    """Reads one problem file and returns a spec dict with sizes 'small' (tests) and 'bench' (the benchmark size, scaled when needed)."""
    with open(path, encoding="utf-8") as handle:
        problem = Problem(handle.read(), path)
    file_name = os.path.basename(path)
    number, title = problem_number(file_name) or (None, os.path.splitext(file_name)[0])
    full, full_footprint, bench, bench_footprint, small, small_footprint = _sizes(problem, scale, memory_bytes, flops)
    module = problem.with_values(bench)
    namespace = execute(module)
    init_inputs = _jsonable(list(namespace["get_init_inputs"]()), "get_init_inputs()")
    tensor_count = len(bench_footprint.inputs)
    names = _forward_argument_names(namespace, tensor_count + len(bench_footprint.numbers))
    # Trailing plain numbers of get_inputs become scalars, passed by the forward argument's name.
    scalars = {names[tensor_count + index]: value for index, value in enumerate(bench_footprint.numbers)}
    probe_values, probe_footprint = scaling.probe(problem, bench)
    points = [bench, small] + ([probe_values] if probe_values else [])
    footprints = [bench_footprint, small_footprint] + ([probe_footprint] if probe_footprint else [])
    output_names = ["output"] if len(bench_footprint.outputs) == 1 else [f"output_{index}" for index in range(len(bench_footprint.outputs))]
    level_text = f"l{level}-" if level is not None else ""
    identifier = f"kb-{level_text}{number}-{_slug(title)}" if number is not None else f"kb-{level_text}{_slug(title)}"
    factors = scaling.scale_factors(full, bench)
    inputs = _tensor_specs("inputs", names[:tensor_count], footprints, points)
    outputs = _tensor_specs("outputs", output_names, footprints, points)
    compulsory = _compulsory_bytes(inputs, outputs, footprints, points)
    doc = (namespace["Model"].__doc__ or "").strip().splitlines()
    where = f"KernelBench{' level ' + str(level) if level is not None else ''} {file_name}"
    return {
        "id": identifier[:120].rstrip("-"),
        "description": (doc[0].strip() if doc and doc[0].strip() else title.replace("_", " ")) + f" ({where})",
        "category": _category(title),
        "source": where,
        "dimensions": list(full),
        "scalars": scalars,
        "inputs": inputs,
        "outputs": outputs,
        "reference": module.rstrip() + "\n" + _ADAPTER.replace("{seed}", str(INIT_SEED)),
        "sizes": {"small": small, "bench": bench},
        "tolerances": {},
        "targets": ["cpu", "cuda", "triton"],
        "constraints": {"forbiddenCalls": [], "notes": "A KernelBench problem: write class ModelNew(torch.nn.Module) with the same "
                        "constructor arguments and forward signature as Model, computing the same outputs with your own kernels."},
        **({"cost": {"bytes": compulsory}} if compulsory else {}),
        "initInputs": init_inputs,
        "kernelbench": {
            "level": level, "problem": number, "title": title, "file": file_name, "module": module, "initSeed": INIT_SEED,
            "structural": [name for name in problem.structural if name in full], "fullSize": full,
            "scaled": bool(factors), "factors": factors,
            "footprint": {key: {"bytes": value.bytes, "flops": value.flops}
                          for key, value in (("full", full_footprint), ("bench", bench_footprint), ("small", small_footprint))},
        },
    }


def parse_problem_range(text):
    """'1-20,25' -> {1..20, 25}; None for every problem."""
    if not text:
        return None
    chosen = set()
    for part in text.split(","):
        part = part.strip()
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise ValueError(f"--problems expects numbers and ranges such as 1-20,25; got '{part}'")
        low, high = int(match.group(1)), int(match.group(2) or match.group(1))
        if high < low:
            raise ValueError(f"--problems range {part} runs backwards")
        chosen.update(range(low, high + 1))
    return chosen


def problem_folder(path, level=None):
    """The folder of problem files: <path>/level<N>, <path>/KernelBench/level<N>, or <path> itself."""
    if not os.path.isdir(path):
        raise FileNotFoundError(f"no such folder: {path}")
    if level is None:
        return path
    for candidate in (os.path.join(path, f"level{level}"), os.path.join(path, "KernelBench", f"level{level}")):
        if os.path.isdir(candidate):
            return candidate
    if os.path.basename(os.path.normpath(path)) == f"level{level}":
        return path
    raise FileNotFoundError(f"no level{level} folder under {path} (looked for level{level}/ and KernelBench/level{level}/)")


def problem_files(folder, problems=None):
    """The problem files of a folder in problem-number order (unnumbered files last, by name), filtered by number."""
    entries = []
    for name in os.listdir(folder):
        if not name.endswith(".py") or name.startswith("_"):
            continue
        parsed = problem_number(name)
        if problems is not None and (parsed is None or parsed[0] not in problems):
            continue
        entries.append((parsed[0] if parsed else float("inf"), name))
    return [os.path.join(folder, name) for _, name in sorted(entries)]


def import_folder(path, level=None, problems=None, scale="auto", memory_bytes=scaling.AUTO_MEMORY_BYTES, flops=scaling.AUTO_FLOPS):
    """Yields one record per problem file: {file, number, ok, spec} or {file, number, ok: false, reason, error}."""
    for file_path in problem_files(problem_folder(path, level), problems):
        name = os.path.basename(file_path)
        parsed = problem_number(name)
        record = {"file": name, "number": parsed[0] if parsed else None}
        try:
            spec = import_problem(file_path, level, scale, memory_bytes, flops)
            json.dumps(spec)
            yield {**record, "ok": True, "spec": spec}
        except ModuleNotFoundError as error:
            yield {**record, "ok": False, "reason": "missing_module", "error": f"missing module: {error.name}"}
        except ProblemError as error:
            yield {**record, "ok": False, "reason": "unsupported", "error": str(error)}
        except Exception as error:  # noqa: BLE001 - one bad problem must not stop the import of the others
            yield {**record, "ok": False, "reason": "import_error", "error": f"{type(error).__name__}: {error}"}
