"""Validation of JSON-lines requests against the contract's protocol schema (contract/schemas/protocol.schema.json,
generated from the zod schemas of core/protocol.ts): same shapes, same strictness, same defaults."""
import math

from .contract.schemas import ContractError, check


class BadRequest(ValueError):
    """A request that does not match the protocol; answered with code bad_request. `path` names the bad field."""

    def __init__(self, message, request_id=None, path=None):
        super().__init__(message)
        self.request_id = request_id
        self.path = path


def parse_options(raw, path="params.options"):
    """EvaluationOptionsSchema: strict keys, types checked, defaults applied; raises BadRequest naming the field."""
    try:
        options = check("protocol", "EvaluationOptions", {} if raw is None else raw, path.split("."))
    except ContractError as error:
        raise BadRequest(str(error), path=error.path) from error
    if options["maxRepetitions"] < options["minRepetitions"]:
        raise BadRequest(f"{path}.maxRepetitions: must be >= minRepetitions", path=f"{path}.maxRepetitions")
    return options


def parse_request(message):
    """Validates one decoded request; returns (id, method, params) with defaults applied, or raises BadRequest."""
    request_id = message.get("id") if isinstance(message, dict) and isinstance(message.get("id"), str) else None
    try:
        request = check("protocol", "RuntimeRequest", message)
    except ContractError as error:
        raise BadRequest(str(error), request_id, error.path) from error
    params = request.get("params", {})
    if "options" in params and params["options"]["maxRepetitions"] < params["options"]["minRepetitions"]:
        raise BadRequest("params.options.maxRepetitions: must be >= minRepetitions", request_id, "params.options.maxRepetitions")
    return request_id, request["method"], params


def sanitize(value):
    """Replaces NaN/Inf (not valid JSON) with None throughout a result."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: sanitize(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [sanitize(item) for item in value]
    return value
