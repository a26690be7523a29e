"""Reads a kernel spec (JSON, or YAML where PyYAML is importable), checks its shape and applies the schema's defaults."""
import json
import os

from .shape_expression import ShapeExpressionError, evaluate_shape_expression

DTYPES = ("float32", "float64", "float16", "bfloat16", "int32", "int64", "uint8", "bool")
FLOAT_DTYPES = ("float32", "float64", "float16", "bfloat16")

# Mirrors DEFAULT_TOLERANCES in core/spec.ts.
DEFAULT_TOLERANCES = {
    "float64": {"atol": 1e-8, "rtol": 1e-7},
    "float32": {"atol": 1e-4, "rtol": 1e-4},
    "float16": {"atol": 1e-2, "rtol": 1e-2},
    "bfloat16": {"atol": 2e-2, "rtol": 2e-2},
    "int32": {"atol": 0, "rtol": 0},
    "int64": {"atol": 0, "rtol": 0},
    "uint8": {"atol": 0, "rtol": 0},
    "bool": {"atol": 0, "rtol": 0},
}


class SpecError(ValueError):
    """A spec that does not have the shape core/spec.ts describes; the message names the bad field."""


def _require(condition, path, message):
    if not condition:
        raise SpecError(f"spec.{path}: {message}")


def _check_tensor(tensor, path, is_input):
    _require(isinstance(tensor, dict), path, "expected an object")
    _require(isinstance(tensor.get("name"), str) and tensor["name"], f"{path}.name", "expected a non-empty string")
    _require(tensor.get("dtype") in DTYPES, f"{path}.dtype", f"expected one of {', '.join(DTYPES)}")
    _require(isinstance(tensor.get("shape"), list), f"{path}.shape", "expected a list of dimensions")
    for index, dimension in enumerate(tensor["shape"]):
        valid = (isinstance(dimension, int) and not isinstance(dimension, bool) and dimension > 0) or (
            isinstance(dimension, str) and dimension
        )
        _require(valid, f"{path}.shape.{index}", "expected a positive integer or an expression")
    init = tensor.get("init")
    if init is not None:
        _require(is_input, f"{path}.init", "outputs have no init")
        _require(isinstance(init, dict), f"{path}.init", "expected an object")
        kind = init.get("kind")
        _require(kind in ("normal", "uniform", "integers", "offsets", "binary", "constant"), f"{path}.init.kind", "unknown init kind")
        if kind == "integers":
            _require("high" in init, f"{path}.init.high", "required for integers")
        if kind == "offsets":
            _require("total" in init, f"{path}.init.total", "required for offsets")
        if kind == "constant":
            _require(isinstance(init.get("value"), (int, float)), f"{path}.init.value", "expected a number")


def normalize_spec(raw):
    """Checks a spec dict and returns a copy with the defaults of KernelSpecSchema applied."""
    _require(isinstance(raw, dict), "", "expected an object")
    spec = dict(raw)
    for key in ("id", "reference"):
        _require(isinstance(spec.get(key), str) and spec[key], key, "expected a non-empty string")
    _require("def reference" in spec["reference"], "reference", "must define a Python function `reference(...)`")
    spec.setdefault("description", "")
    spec.setdefault("category", "")
    _require(isinstance(spec.get("dimensions", []), list), "dimensions", "expected a list of names")
    spec.setdefault("dimensions", [])
    spec["scalars"] = dict(spec.get("scalars") or {})
    for name, value in spec["scalars"].items():
        _require(isinstance(value, (int, float)) and not isinstance(value, bool), f"scalars.{name}", "expected a number")
    for group in ("inputs", "outputs"):
        _require(isinstance(spec.get(group), list) and spec[group], group, "expected a non-empty list")
        for index, tensor in enumerate(spec[group]):
            _check_tensor(tensor, f"{group}.{index}", group == "inputs")
    sizes = spec.get("sizes")
    _require(isinstance(sizes, dict) and len(sizes) >= 1, "sizes", "expected at least one named size")
    for size_name, size in sizes.items():
        _require(isinstance(size, dict), f"sizes.{size_name}", "expected an object of dimension values")
        for dimension in spec["dimensions"]:
            _require(dimension in size, f"sizes.{size_name}", f"missing dimension '{dimension}'")
    spec["tolerances"] = dict(spec.get("tolerances") or {})
    representative = spec.get("representativeSizes")
    if representative is not None:
        _require(isinstance(representative, list) and representative, "representativeSizes", "expected a non-empty list of size names")
        for index, name in enumerate(representative):
            _require(name in sizes and name != "ragged", f"representativeSizes.{index}", f"'{name}' is not one of the spec's sizes ({', '.join(sizes)})")
    ragged = spec.get("raggedSize", True)
    _require(isinstance(ragged, (bool, dict)), "raggedSize", "expected true, false or an object of dimension values")
    if isinstance(ragged, dict):
        for dimension in spec["dimensions"]:
            _require(isinstance(ragged.get(dimension), int) and ragged[dimension] > 0, f"raggedSize.{dimension}", "expected a positive integer")
    spec.setdefault("targets", ["cpu"])
    constraints = dict(spec.get("constraints") or {})
    constraints.setdefault("forbiddenCalls", [])
    spec["constraints"] = constraints
    # Resolve every shape once so a bad expression fails before any compile.
    for size_name in sizes:
        for group in ("inputs", "outputs"):
            for tensor in spec[group]:
                try:
                    shape = resolve_shape(tensor["shape"], sizes[size_name])
                except ShapeExpressionError as error:
                    raise SpecError(f"spec.{group}.{tensor['name']}.shape at size '{size_name}': {error}") from error
                _require(all(extent >= 0 for extent in shape), f"{group}.{tensor['name']}.shape", f"negative extent at size '{size_name}'")
    return spec


def load_spec(path):
    """Loads a spec file (.json, or .yaml/.yml when PyYAML is installed) and normalises it."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if os.path.splitext(path)[1].lower() in (".yaml", ".yml"):
        try:
            import yaml  # optional: the Node side hands over JSON
        except ImportError as error:
            raise SpecError(f"{path}: YAML specs need PyYAML, which is not installed; pass the spec as JSON") from error
        raw = yaml.safe_load(text)
    else:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as error:
            raise SpecError(f"{path}: not valid JSON ({error})") from error
    return normalize_spec(raw)


def resolve_shape(shape, dimensions):
    """Resolves each extent of a symbolic shape for one size's dimension values."""
    return [int(evaluate_shape_expression(extent, dimensions)) for extent in shape]


def tolerance_for(spec, dtype):
    """The spec's tolerance for a dtype, else the default."""
    tolerance = spec.get("tolerances", {}).get(dtype) or DEFAULT_TOLERANCES[dtype]
    return float(tolerance["atol"]), float(tolerance["rtol"])


def selected_sizes(spec, names=None):
    """The size names to evaluate: the requested ones in order (checked), else all of the spec's."""
    if not names:
        return list(spec["sizes"].keys())
    unknown = [name for name in names if name not in spec["sizes"]]
    if unknown:
        raise SpecError(f"unknown size(s) {', '.join(unknown)}; the spec has {', '.join(spec['sizes'])}")
    return list(names)


# ---------------------------------------------------------------------------------------------------------------
# Which sizes are timed and which only checked (issue #12.4). Mirrored in core/spec-sizes.ts; the shared cases in
# tests/contract/spec-sizes.json run in jest and pytest, so the two languages cannot drift apart.

RAGGED_SIZE = "ragged"
# Dimensions below this keep their value (heads, kernel sizes, channel counts of small layers).
RAGGED_MINIMUM = 8
# The ragged size's footprint is brought under this fraction of the largest size's by halving outer dimensions.
RAGGED_FOOTPRINT_FRACTION = 0.25
_DTYPE_BYTES = {"float32": 4, "float64": 8, "float16": 2, "bfloat16": 2, "int32": 4, "int64": 8, "uint8": 1, "bool": 1}


def size_footprint(spec, dimensions):
    """Bytes of every input and output at the given dimension values (the measure of a size's weight)."""
    total = 0
    for tensor in list(spec["inputs"]) + list(spec["outputs"]):
        count = 1
        for extent in resolve_shape(tensor["shape"], dimensions):
            count *= max(int(extent), 0)
        total += count * _DTYPE_BYTES[tensor["dtype"]]
    return total


def declared_sizes(spec):
    """The spec's own sizes, without the generated ragged one."""
    return [name for name in spec["sizes"] if name != RAGGED_SIZE]


def largest_size(spec):
    """The declared size with the largest footprint (the first of equals)."""
    names = declared_sizes(spec)
    best = names[0]
    for name in names[1:]:
        if size_footprint(spec, spec["sizes"][name]) > size_footprint(spec, spec["sizes"][best]):
            best = name
    return best


def representative_sizes(spec):
    """The sizes speed-up is judged at: spec.representativeSizes, else the largest size."""
    declared = spec.get("representativeSizes")
    return list(declared) if declared else [largest_size(spec)]


def ragged_value(value):
    """A nearby extent that is a multiple of none of 2, 8, 16, 64: value - 3, made odd; small values stay."""
    value = int(value)
    if value < RAGGED_MINIMUM:
        return value
    ragged = value - 3
    return ragged - 1 if ragged % 2 == 0 else ragged


def _inner_dimensions(spec):
    """Dimension names that are the last (contiguous) extent of some tensor: they stay large in the ragged size."""
    inner = set()
    largest = largest_size(spec)
    for tensor in list(spec["inputs"]) + list(spec["outputs"]):
        if tensor["shape"] and isinstance(tensor["shape"][-1], str) and tensor["shape"][-1] in spec["sizes"][largest]:
            inner.add(tensor["shape"][-1])
    return inner


def ragged_dimensions(spec):
    """The correctness-only size every evaluation adds, or None when the spec turns it off (`raggedSize: false`).

    Built from the largest size: outer dimensions are halved (largest first) until the footprint is at most a quarter
    of the largest size's, then every extent of at least RAGGED_MINIMUM becomes ragged_value(extent), so the inner
    dimension stays large and no extent is a multiple of 8, 16 or 64. KernelBench constants that shape the weights
    (kernelbench.structural) keep their values. A spec may give the ragged size itself (`raggedSize: {R: 1001, ...}`).
    """
    setting = spec.get("raggedSize", True)
    if setting is False:
        return None
    if isinstance(setting, dict):
        return {name: int(value) for name, value in setting.items()}
    if RAGGED_SIZE in spec["sizes"]:
        return dict(spec["sizes"][RAGGED_SIZE])
    base = dict(spec["sizes"][largest_size(spec)])
    fixed = set((spec.get("kernelbench") or {}).get("structural") or [])
    inner = _inner_dimensions(spec)
    target = RAGGED_FOOTPRINT_FRACTION * size_footprint(spec, base)
    order = list(base)
    for _ in range(64):
        if size_footprint(spec, base) <= target:
            break
        candidates = [name for name in order if name not in inner and name not in fixed and base[name] >= 2 * RAGGED_MINIMUM]
        if not candidates:
            break
        biggest = max(candidates, key=lambda name: (base[name], -order.index(name)))
        base[biggest] //= 2
    return {name: (value if name in fixed else ragged_value(value)) for name, value in base.items()}


def with_ragged_size(spec):
    """A copy of a normalised spec whose sizes end with the generated ragged size (absent when turned off or given)."""
    if RAGGED_SIZE in spec["sizes"]:
        return spec
    dimensions = ragged_dimensions(spec)
    if dimensions is None:
        return spec
    copy = dict(spec)
    copy["sizes"] = dict(spec["sizes"])
    copy["sizes"][RAGGED_SIZE] = dimensions
    return copy


def evaluation_plan(spec, requested=None):
    """(checked sizes, timed sizes, flags) of one evaluation.

    Checked: the requested sizes (default every declared size) plus the ragged size. Timed: the representative sizes
    among the requested; when the request names none of them (e.g. `--size small`), the requested sizes are timed and
    flagged `timed-non-representative`, so such a figure is never mistaken for the spec's speed-up.
    """
    spec = with_ragged_size(spec)
    requested = selected_sizes(spec, requested) if requested else declared_sizes(spec)
    checked = list(requested)
    if RAGGED_SIZE in spec["sizes"] and RAGGED_SIZE not in checked:
        checked.append(RAGGED_SIZE)
    representative = representative_sizes(spec)
    timed = [name for name in requested if name in representative and name != RAGGED_SIZE]
    flags = []
    if not timed:
        timed = [name for name in requested if name != RAGGED_SIZE]
        flags.append("timed-non-representative")
    return checked, timed, flags
