"""Kernel specs on the Python side: checked against the contract's JSON Schema (contract/schemas/spec.schema.json, generated
from core/spec.ts) plus the cross-field rules of KernelSpecSchema's superRefine, with the schema's defaults applied.
Specs reach Python as JSON only (the Node side, or contract/seed-specs.json written by the TypeScript loader)."""
import copy
import json
import re

from .schemas import ContractError, check
from .shape_expression import ShapeExpressionError, evaluate_shape_expression, shape_expression_identifiers

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
_REFERENCE = re.compile(r"\bdef\s+reference\s*\(")


class SpecError(ValueError):
    """A spec that does not have the shape core/spec.ts describes; `path` is the dotted path of the bad field."""

    def __init__(self, message, path=None):
        super().__init__(message)
        self.path = path


def _fail(path, message):
    raise SpecError(f"spec.{path}: {message}" if path else f"spec: {message}", path)


def _check_rules(spec):
    """The rules of KernelSpecSchema's superRefine, in its order: declared dimensions, unique names, sizes, extents."""
    known = spec["dimensions"]

    def expression(value, path):
        if not isinstance(value, str):
            return
        try:
            identifiers = shape_expression_identifiers(value)
        except ShapeExpressionError as error:
            _fail(path, str(error))
        for identifier in identifiers:
            if identifier not in known:
                _fail(path, f"unknown dimension '{identifier}'; declared dimensions: {', '.join(known) or '(none)'}")

    tensors = [("inputs", index, tensor) for index, tensor in enumerate(spec["inputs"])]
    tensors += [("outputs", index, tensor) for index, tensor in enumerate(spec["outputs"])]
    names = set()
    for group, index, tensor in tensors:
        if tensor["name"] in names:
            _fail(f"{group}.{index}.name", f"duplicate tensor name '{tensor['name']}'")
        names.add(tensor["name"])
        for position, dimension in enumerate(tensor["shape"]):
            expression(dimension, f"{group}.{index}.shape.{position}")
        init = tensor.get("init") or {}
        if init.get("kind") == "integers":
            expression(init.get("low"), f"{group}.{index}.init.low")
            expression(init.get("high"), f"{group}.{index}.init.high")
        if init.get("kind") == "offsets":
            expression(init.get("total"), f"{group}.{index}.init.total")
    sizes = spec["sizes"]
    if len(sizes) < 2:
        _fail("sizes", "at least two named sizes are required (the first, small, is used by tests)")
    for size_name, size in sizes.items():
        for dimension in known:
            if dimension not in size:
                _fail(f"sizes.{size_name}", f"missing dimension '{dimension}'")
        for key in size:
            if key not in known:
                _fail(f"sizes.{size_name}.{key}", f"'{key}' is not a declared dimension")
    # Every extent resolves at every size, to a non-negative number, so a bad expression fails before any compile.
    for group, index, tensor in tensors:
        for position, dimension in enumerate(tensor["shape"]):
            if not isinstance(dimension, str):
                continue
            identifiers = shape_expression_identifiers(dimension)
            for size_name, size in sizes.items():
                if any(identifier not in size for identifier in identifiers):
                    continue
                try:
                    extent = evaluate_shape_expression(dimension, size)
                except ShapeExpressionError as error:
                    _fail(f"{group}.{index}.shape.{position}", f"{error} at size '{size_name}'")
                if extent < 0:
                    _fail(f"{group}.{index}.shape.{position}", f"negative extent {extent} at size '{size_name}'")
    for position, name in enumerate(spec.get("representativeSizes") or []):
        if name not in sizes or name == "ragged":
            _fail(f"representativeSizes.{position}", f"'{name}' is not one of the spec's sizes ({', '.join(sizes)})")
    ragged = spec.get("raggedSize")
    if isinstance(ragged, dict):
        for dimension in known:
            if dimension not in ragged:
                _fail("raggedSize", f"missing dimension '{dimension}'")
    for key in ("flops", "bytes"):
        if (spec.get("cost") or {}).get(key):
            expression(spec["cost"][key], f"cost.{key}")
    if not _REFERENCE.search(spec["reference"]):
        _fail("reference", "must define a Python function `reference(...)`")


_CHECKED = {}
_CHECKED_LIMIT = 64


def normalize_spec(raw):
    """Checks a spec (the contract's JSON Schema, then the cross-field rules) and returns a copy with the defaults applied:
    what KernelSpecSchema.parse returns on the TypeScript side. Raises SpecError naming the field.

    A run sends the same spec with every request and JSON Schema validation in Python costs milliseconds, so the result
    for a spec's canonical JSON is remembered (a fresh copy each call)."""
    try:
        key = json.dumps(raw, sort_keys=True)
    except (TypeError, ValueError):
        key = None
    if key is not None and key in _CHECKED:
        return copy.deepcopy(_CHECKED[key])
    try:
        spec = check("spec", "KernelSpec", raw)
    except ContractError as error:
        _fail(error.path, error.detail)
    _check_rules(spec)
    if key is not None:
        if len(_CHECKED) >= _CHECKED_LIMIT:
            _CHECKED.pop(next(iter(_CHECKED)))
        _CHECKED[key] = copy.deepcopy(spec)
    return spec


def load_spec(path):
    """Loads a spec from a JSON file (`kernelevolve specs <id> --json`, or contract/seed-specs.json's entries) and checks it."""
    if not path.lower().endswith(".json"):
        raise SpecError(f"{path}: specs reach the Python runtime as JSON; write one with `kernelevolve specs <id-or-file> --json > spec.json`")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise SpecError(f"{path}: not valid JSON ({error})") from error
    # `kernelevolve specs show <id> --json` wraps the spec with a summary.
    return normalize_spec(raw["spec"] if isinstance(raw, dict) and isinstance(raw.get("spec"), dict) else raw)


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
