"""Validation of JSON-lines requests, mirroring the zod shapes of core/protocol.ts (same defaults, same strictness)."""
import math

METHODS = ("hello", "evaluate", "time_reference", "hardware_profile", "shutdown")
LANGUAGES = ("cpp", "cuda", "triton", "python")
STATIC_MODES = ("strict", "warn", "off")


class BadRequest(ValueError):
    """A request that does not match the protocol; answered with code bad_request."""

    def __init__(self, message, request_id=None):
        super().__init__(message)
        self.request_id = request_id


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _integer(value, path, minimum=None):
    if not _is_number(value) or float(value) != int(value):
        raise BadRequest(f"{path}: expected an integer")
    value = int(value)
    if minimum is not None and value < minimum:
        raise BadRequest(f"{path}: must be >= {minimum}")
    return value


def _positive(value, path):
    if not _is_number(value) or value <= 0:
        raise BadRequest(f"{path}: expected a positive number")
    return float(value)


def _boolean(value, path):
    if not isinstance(value, bool):
        raise BadRequest(f"{path}: expected a boolean")
    return value


def _sizes(value, path):
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise BadRequest(f"{path}: expected an array of strings")
    return list(value)


def _static_modes(value, path):
    if not isinstance(value, dict) or not all(isinstance(key, str) and mode in STATIC_MODES for key, mode in value.items()):
        raise BadRequest(f"{path}: expected an object of {'|'.join(STATIC_MODES)}")
    return dict(value)


# name -> (parser, default); a default of None means optional without a default.
OPTION_FIELDS = {
    "sizes": (_sizes, None),
    "trials": (lambda value, path: _integer(value, path, 1), 3),
    "seed": (lambda value, path: _integer(value, path), 0),
    "timing": (_boolean, True),
    "warmup": (lambda value, path: _integer(value, path, 0), 3),
    "minTimeMs": (_positive, 200.0),
    "minRepetitions": (lambda value, path: _integer(value, path, 1), 5),
    "maxRepetitions": (lambda value, path: _integer(value, path, 1), 1000),
    "threads": (lambda value, path: _integer(value, path, 1), None),
    "timeLimitSeconds": (_positive, 60.0),
    "compileTimeLimitSeconds": (_positive, 120.0),
    "memoryLimitMb": (lambda value, path: _integer(value, path, 1), 8192),
    "speedupThreshold": (_positive, 10.0),
    "staticChecks": (_static_modes, {}),
    "compareTorchCompile": (_boolean, False),
}


def parse_options(raw, path="params.options"):
    """EvaluationOptionsSchema: strict keys, types checked, defaults applied."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise BadRequest(f"{path}: expected an object")
    unknown = sorted(set(raw) - set(OPTION_FIELDS))
    if unknown:
        raise BadRequest(f"{path}: unknown key(s) {', '.join(unknown)}")
    options = {}
    for name, (parser, default) in OPTION_FIELDS.items():
        if name in raw and raw[name] is not None:
            options[name] = parser(raw[name], f"{path}.{name}")
        elif default is not None:
            options[name] = dict(default) if isinstance(default, dict) else default
    if options["maxRepetitions"] < options["minRepetitions"]:
        raise BadRequest(f"{path}.maxRepetitions: must be >= minRepetitions")
    return options


def parse_candidate(raw, path="params.candidate"):
    """CandidateSourceSchema: language, non-empty source, compileFlags (default [])."""
    if not isinstance(raw, dict):
        raise BadRequest(f"{path}: expected an object")
    unknown = sorted(set(raw) - {"language", "source", "compileFlags"})
    if unknown:
        raise BadRequest(f"{path}: unknown key(s) {', '.join(unknown)}")
    if raw.get("language") not in LANGUAGES:
        raise BadRequest(f"{path}.language: expected one of {', '.join(LANGUAGES)}")
    if not isinstance(raw.get("source"), str) or not raw["source"]:
        raise BadRequest(f"{path}.source: expected a non-empty string")
    flags = raw.get("compileFlags", [])
    if not isinstance(flags, list) or not all(isinstance(flag, str) for flag in flags):
        raise BadRequest(f"{path}.compileFlags: expected an array of strings")
    return {"language": raw["language"], "source": raw["source"], "compileFlags": list(flags)}


def _string(params, key):
    if not isinstance(params.get(key), str):
        raise BadRequest(f"params.{key}: expected a string")
    return params[key]


def _spec(params):
    if not isinstance(params.get("spec"), dict):
        raise BadRequest("params.spec: expected an object")
    return params["spec"]


def parse_request(message):
    """Validates one decoded request; returns (id, method, params) with defaults applied, or raises BadRequest."""
    if not isinstance(message, dict):
        raise BadRequest("a request must be a JSON object")
    request_id = message.get("id") if isinstance(message.get("id"), str) else None
    if request_id is None:
        raise BadRequest("id: expected a string")
    method = message.get("method")
    if method not in METHODS:
        raise BadRequest(f"method: expected one of {', '.join(METHODS)}", request_id)
    params = message.get("params", {} if method in ("hello", "shutdown") else None)
    if not isinstance(params, dict):
        raise BadRequest("params: expected an object", request_id)
    try:
        if method in ("hello", "shutdown"):
            return request_id, method, {}
        if method == "hardware_profile":
            return request_id, method, {"platform": _string(params, "platform")}
        parsed = {"spec": _spec(params), "platform": _string(params, "platform"), "options": parse_options(params.get("options"))}
        if method == "evaluate":
            parsed["candidate"] = parse_candidate(params.get("candidate"))
        if "cacheDir" in params:
            parsed["cacheDir"] = _string(params, "cacheDir")
        return request_id, method, parsed
    except BadRequest as error:
        raise BadRequest(str(error), request_id) from error


def sanitize(value):
    """Replaces NaN/Inf (not valid JSON) with None throughout a result."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: sanitize(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [sanitize(item) for item in value]
    return value
