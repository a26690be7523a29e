"""The JSON Schemas of the contract (contract/schemas/*.json, generated from the zod schemas of core/spec.ts and
core/protocol.ts by `npm run contract:schemas`): validation with errors that name the field, and the schemas' defaults.

A schema document holds its named schemas under `definitions`; `check(document, name, value)` validates a value against
one of them and returns a copy with every default applied (what zod's parse returns on the TypeScript side).
"""
import copy
import json
import os
from functools import lru_cache

from jsonschema import Draft7Validator
from jsonschema.exceptions import best_match

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


def _first_error(document, node, value, prefix):
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
            return _first_error(document, branches[allowed.index(value[key])], value, prefix)
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
            if _validator(document, branch).is_valid(value):
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


def check(document_name, definition, value, prefix=()):
    """Validates `value` against `definitions[definition]` of a schema document; returns it with the defaults applied.

    Raises ContractError naming the first bad field (dotted path, `prefix` first)."""
    document = schema_document(document_name)
    node = document["definitions"][definition]
    found = _first_error(document, node, value, list(prefix))
    if found is not None:
        raise ContractError(_path(found[0]), found[1])
    return _with_defaults(document, node, value)
