"""The JSON Schemas of the contract (contract/schemas/*.json, generated from the zod schemas of core/spec.ts and
core/protocol.ts by `npm run contract:schemas`): validation with errors that name the field, and the schemas' defaults.

A schema document holds its named schemas under `definitions`; `check(document, name, value)` validates a value against
one of them and returns a copy with every default applied (what zod's parse returns on the TypeScript side).

Validation is python `jsonschema`'s (pinned in python/pyproject.toml). The GPU hosts' image lacks it and has no network,
so where it cannot be imported a validator of the draft-7 keywords the generated schemas use stands in (SUBSET_KEYWORDS);
tests/python/test_contract.py runs every shared case through both and fails when a schema uses another keyword.
"""
import copy
import json
import math
import os
import re
from functools import lru_cache

try:
    from jsonschema import Draft7Validator
    from jsonschema.exceptions import best_match
except ImportError:  # the GPU hosts' image has no jsonschema (no network there): the subset validator below stands in
    Draft7Validator = None

# The repository's contract/schemas (python/kernelevolve_runtime/contract -> ../../../contract/schemas); the npm package
# ships the same folder beside python/. KERNELEVOLVE_CONTRACT_SCHEMAS points elsewhere.
SCHEMA_FOLDER = os.environ.get("KERNELEVOLVE_CONTRACT_SCHEMAS") or os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "contract", "schemas")
)


class ContractError(ValueError):
    """A value that does not match its schema; `path` is the dotted path of the bad field ('' for the value itself)."""

    def __init__(self, path, message):
        super().__init__(f"{path or '(root)'}: {message}")
        self.path = path
        self.detail = message


@lru_cache(maxsize=None)
def schema_document(name):
    """One schema document by name ('spec' or 'protocol')."""
    path = os.path.join(SCHEMA_FOLDER, f"{name}.schema.json")
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except FileNotFoundError as error:
        raise RuntimeError(f"the contract schema {path} is missing: run `npm run contract:schemas` in the repository") from error
    if Draft7Validator is not None:
        Draft7Validator.check_schema(document)
    return _any_value_is_true(document)


def _any_value_is_true(node):
    """`additionalProperties: {}` (zod's record of unknown) as `true`: the same meaning in draft 7, but jsonschema then
    skips descending into every value (a spec inside a request costs ~25 descents otherwise)."""
    if isinstance(node, dict):
        return {key: True if key == "additionalProperties" and value == {} else _any_value_is_true(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_any_value_is_true(item) for item in node]
    return node


def _resolve(document, node):
    """Follows a local $ref (draft 7 ignores a $ref's siblings for validation; a sibling `default` is kept by the caller)."""
    while isinstance(node, dict) and "$ref" in node:
        reference = node["$ref"]
        if not reference.startswith("#/"):
            raise RuntimeError(f"unsupported $ref {reference}")
        target = document
        for part in reference[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            target = target[int(part)] if isinstance(target, list) else target[part]
        node = target
    return node


_VALIDATORS = {}


def _validator(document, node):
    """A validator of one node of a cached document (the definitions ride along so its $refs resolve); built once per node."""
    key = id(node)
    if key not in _VALIDATORS:
        _VALIDATORS[key] = (node, Draft7Validator({**node, "definitions": document["definitions"]}))
    return _VALIDATORS[key][1]


_DISCRIMINATORS = {}


def _discriminator(document, branches):
    """(the property every branch of an anyOf fixes with a `const` (zod's discriminated unions) or None, the branches)."""
    key = id(branches)
    if key not in _DISCRIMINATORS:
        _DISCRIMINATORS[key] = (branches, _find_discriminator(document, branches))
    return _DISCRIMINATORS[key][1]


def _find_discriminator(document, branches):
    resolved = [_resolve(document, branch) for branch in branches]
    if not all(isinstance(branch, dict) and isinstance(branch.get("properties"), dict) for branch in resolved):
        return None, resolved
    common = set.intersection(*[{key for key, value in branch["properties"].items() if "const" in value} for branch in resolved])
    return (sorted(common)[0] if common else None), resolved


def _path(parts):
    return ".".join(str(part) for part in parts)


def _first_error(document, node, value, prefix, use_library=True):
    """(path parts, message) of the most telling error of a value against a schema node, or None when it is valid."""
    node = _resolve(document, node)
    if "anyOf" in node:
        key, branches = _discriminator(document, node["anyOf"])
        if key is not None:
            if not isinstance(value, dict):
                return prefix, "expected an object"
            allowed = [branch["properties"][key]["const"] for branch in branches]
            if value.get(key) not in allowed:
                return prefix + [key], f"expected one of {', '.join(json.dumps(choice) for choice in allowed)}, got {json.dumps(value.get(key))}"
            return _first_error(document, branches[allowed.index(value[key])], value, prefix, use_library)
    if Draft7Validator is None or not use_library:
        return _subset_error(document, node, value, prefix)
    error = best_match(_validator(document, node).iter_errors(value))
    if error is None:
        return None
    parts = prefix + list(error.absolute_path)
    if error.validator == "anyOf":
        key, branches = _discriminator(document, error.schema["anyOf"])
        if key is not None:
            return _first_error(document, error.schema, error.instance, parts)
        kinds = [branch.get("type") for branch in branches]
        if all(isinstance(kind, str) for kind in kinds):
            return parts, f"expected {' or '.join(dict.fromkeys(kinds))}, got {json.dumps(error.instance)}"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        unknown = [key for key in error.instance if key not in known]
        return parts, f"unknown key(s) {', '.join(repr(key) for key in unknown)}"
    if error.validator == "required":
        missing = error.message.split("'")[1] if error.message.count("'") >= 2 else None
        return (parts + [missing] if missing else parts), "required"
    return parts, error.message


def _with_defaults(document, node, value):
    """A copy of a valid value with the defaults of its schema applied, integral floats of integer fields made ints."""
    node = _resolve(document, node)
    if "anyOf" in node:
        key, branches = _discriminator(document, node["anyOf"])
        if key is not None and isinstance(value, dict):
            for branch in branches:
                if branch["properties"][key]["const"] == value.get(key):
                    return _with_defaults(document, branch, value)
        for branch in branches:
            if _first_error(document, branch, value, []) is None:
                return _with_defaults(document, branch, value)
        return value
    if isinstance(value, dict):
        result = {}
        properties = node.get("properties", {})
        for key, item in value.items():
            schema = properties.get(key, node.get("additionalProperties"))
            result[key] = _with_defaults(document, schema, item) if isinstance(schema, dict) else item
        for key, schema in properties.items():
            if key not in value and "default" in schema:
                result[key] = _with_defaults(document, schema, copy.deepcopy(schema["default"]))
        return result
    if isinstance(value, list):
        items = node.get("items")
        return [_with_defaults(document, items, item) if isinstance(items, dict) else item for item in value]
    if node.get("type") == "integer" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# The keywords the subset validator implements (validation) or passes over (annotations): every keyword the generated
# schemas use today; tests/python/test_contract.py fails when a regenerated schema uses another one.
SUBSET_KEYWORDS = {
    "type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf", "$ref", "minimum",
    "maximum", "exclusiveMinimum", "minLength", "minItems", "pattern",
}
ANNOTATIONS = {"$schema", "$comment", "title", "description", "default", "definitions", "protocolVersion"}
_TYPES = {
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "string": lambda value: isinstance(value, str),
    "boolean": lambda value: isinstance(value, bool),
    "null": lambda value: value is None,
    "number": lambda value: isinstance(value, (int, float)) and not isinstance(value, bool),
    "integer": lambda value: (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, float) and value.is_integer()),
}


def _same(left, right):
    """JSON equality (True is not 1)."""
    return json.dumps(left, sort_keys=True) == json.dumps(right, sort_keys=True)


def _subset_error(document, node, value, path):
    """The first error of a value against a node, for the keywords of SUBSET_KEYWORDS (draft 7 semantics), or None."""
    node = _resolve(document, node)
    if node is True or not isinstance(node, dict):
        return None
    if "anyOf" in node:
        key, branches = _discriminator(document, node["anyOf"])
        if key is not None:
            return _first_error(document, node, value, path, use_library=False)
        if all(_subset_error(document, branch, value, path) is not None for branch in branches):
            kinds = [branch.get("type") for branch in branches]
            if all(isinstance(kind, str) for kind in kinds):
                return path, f"expected {' or '.join(dict.fromkeys(kinds))}, got {json.dumps(value)}"
            return path, f"{json.dumps(value)} is not valid under any of the given schemas"
    kinds = node.get("type")
    if kinds is not None:
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if not any(_TYPES[kind](value) for kind in kinds):
            return path, f"{json.dumps(value)} is not of type {', '.join(repr(kind) for kind in kinds)}"
    if "const" in node and not _same(value, node["const"]):
        return path, f"{json.dumps(node['const'])} was expected"
    if "enum" in node and not any(_same(value, choice) for choice in node["enum"]):
        return path, f"{json.dumps(value)} is not one of {node['enum']}"
    if _TYPES["number"](value) and math.isfinite(value):
        if "minimum" in node and value < node["minimum"]:
            return path, f"{value} is less than the minimum of {node['minimum']}"
        if "maximum" in node and value > node["maximum"]:
            return path, f"{value} is greater than the maximum of {node['maximum']}"
        if "exclusiveMinimum" in node and value <= node["exclusiveMinimum"]:
            return path, f"{value} is less than or equal to the minimum of {node['exclusiveMinimum']}"
    if isinstance(value, str):
        if "minLength" in node and len(value) < node["minLength"]:
            return path, f"{json.dumps(value)} should be non-empty" if node["minLength"] == 1 else f"{json.dumps(value)} is too short"
        if "pattern" in node and not re.search(node["pattern"], value):
            return path, f"{json.dumps(value)} does not match {node['pattern']!r}"
    if isinstance(value, list):
        if "minItems" in node and len(value) < node["minItems"]:
            return path, f"expected at least {node['minItems']} item(s)"
        if isinstance(node.get("items"), dict):
            for index, item in enumerate(value):
                found = _subset_error(document, node["items"], item, path + [index])
                if found is not None:
                    return found
    if isinstance(value, dict):
        for name in node.get("required", []):
            if name not in value:
                return path + [name], "required"
        properties = node.get("properties", {})
        extra = node.get("additionalProperties", True)
        unknown = [key for key in value if key not in properties]
        if extra is False and unknown:
            return path, f"unknown key(s) {', '.join(repr(key) for key in unknown)}"
        for key, item in value.items():
            schema = properties.get(key, extra if key not in properties else None)
            if isinstance(schema, dict):
                found = _subset_error(document, schema, item, path + [key])
                if found is not None:
                    return found
    return None


def check(document_name, definition, value, prefix=(), use_library=True):
    """Validates `value` against `definitions[definition]` of a schema document; returns it with the defaults applied.

    Raises ContractError naming the first bad field (dotted path, `prefix` first). Validation is python `jsonschema`'s
    where it is installed, else (or with use_library=False) the subset validator's."""
    document = schema_document(document_name)
    node = document["definitions"][definition]
    found = _first_error(document, node, value, list(prefix), use_library)
    if found is not None:
        raise ContractError(_path(found[0]), found[1])
    return _with_defaults(document, node, value)
