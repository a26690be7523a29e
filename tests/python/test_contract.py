"""The shared cases of tests/contract/shared-cases.json, Python side (jest runs tests/contract/shared-cases.test.ts on the
same file), and the Python runtime's use of the generated JSON Schemas (contract/schemas)."""
import json
import os

import pytest

from kernelevolve_runtime.contract.shape_expression import (
    ShapeExpressionError, evaluate_shape_expression, shape_expression_identifiers,
)
from kernelevolve_runtime.contract.spec import SpecError, normalize_spec
from kernelevolve_runtime.contract.templates import (
    TemplateError, instantiate, parse_constraint, parse_template, source_hash, typed_value,
)
from kernelevolve_runtime.protocol import BadRequest, parse_request

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
CASES = json.load(open(os.path.join(ROOT, "tests", "contract", "shared-cases.json"), encoding="utf-8"))


def _ids(entries, key="name"):
    return [entry[key] if key == "name" else f"{entry['expression']} {entry['values']}" for entry in entries]


@pytest.mark.parametrize("case", CASES["templates"], ids=_ids(CASES["templates"]))
def test_template(case):
    if "error" in case:
        with pytest.raises(TemplateError) as raised:
            parse_template(case["source"], "case")
        assert case["error"] in str(raised.value)
        return
    template = parse_template(case["source"], "case")
    assert template.parameters == case["parameters"]
    assert template.size() == case["combinations"]
    assert len(template.instances()) == case["allowed"]
    assert template.default() == case["default"]
    for instance in case["instances"]:
        if "error" in instance:
            with pytest.raises(TemplateError) as raised:
                instantiate(template, instance["params"])
            assert instance["error"] in str(raised.value)
            continue
        text = instantiate(template, instance["params"])
        assert text == instance["text"]
        assert source_hash(case["language"], text) == source_hash(case["language"], instance["text"])


@pytest.mark.parametrize("case", CASES["constraints"], ids=_ids(CASES["constraints"], "expression"))
def test_constraint(case):
    values = {name: typed_value(value) for name, value in case["values"].items()}
    if case.get("error"):
        with pytest.raises(TemplateError):
            parse_constraint(case["expression"]).allows(values)
        return
    assert parse_constraint(case["expression"]).allows(values) is case["allowed"]


@pytest.mark.parametrize("case", CASES["shapeExpressions"], ids=[case["expression"] for case in CASES["shapeExpressions"]])
def test_shape_expression(case):
    if case["identifiers"] is None:
        with pytest.raises(ShapeExpressionError, match=_literal(case["error"])):
            shape_expression_identifiers(case["expression"])
    else:
        assert shape_expression_identifiers(case["expression"]) == case["identifiers"]
    if "error" in case:
        with pytest.raises(ShapeExpressionError, match=_literal(case["error"])):
            evaluate_shape_expression(case["expression"], case["values"])
    else:
        assert evaluate_shape_expression(case["expression"], case["values"]) == case["result"]


@pytest.mark.parametrize("case", CASES["specs"], ids=_ids(CASES["specs"]))
def test_spec(case):
    if "error" in case:
        with pytest.raises(SpecError) as raised:
            normalize_spec(case["spec"])
        assert raised.value.path == case["error"]["path"], str(raised.value)
        assert case["error"]["mentions"] in str(raised.value)
        return
    assert normalize_spec(case["spec"]) == case["expected"]


@pytest.mark.parametrize("case", CASES["requests"], ids=_ids(CASES["requests"]))
def test_request(case):
    if "error" in case:
        with pytest.raises(BadRequest) as raised:
            parse_request(case["request"])
        assert raised.value.path == case["error"]["path"], str(raised.value)
        assert case["error"]["mentions"] in str(raised.value)
        return
    _, _, params = parse_request(case["request"])
    assert params == case["params"]


def _literal(text):
    import re

    return re.escape(text)
