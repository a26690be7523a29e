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
