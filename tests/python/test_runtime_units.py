"""Unit tests of the runtime's pure parts: shape expressions, inputs, verdicts, protocol validation, templates, timing."""
import math

import pytest
import torch

from kernelevolve_runtime.fitness.compare import check_trial, output_digest
from kernelevolve_runtime.fitness.inputs import generate_inputs
from kernelevolve_runtime.protocol import BadRequest, parse_options, parse_request
from kernelevolve_runtime.contract.shape_expression import ShapeExpressionError, evaluate_shape_expression, shape_expression_identifiers
from kernelevolve_runtime.contract.spec import SpecError, normalize_spec
from kernelevolve_runtime.fitness.static_checks import rejection_reason, run_static_checks
from kernelevolve_runtime.contract.templates import TemplateError, choose_instances, instantiate, parse_template
from kernelevolve_runtime.fitness.timing import geometric_mean, statistics


def make_spec(**overrides):
    spec = {
        "id": "unit",
        "description": "unit test spec",
        "category": "test",
        "dimensions": ["R", "D"],
        "inputs": [{"name": "x", "dtype": "float32", "shape": ["R", "D"]}],
        "outputs": [{"name": "y", "dtype": "float32", "shape": ["R", "D"]}],
        "reference": "import torch\n\ndef reference(x):\n    return torch.softmax(x, dim=-1)\n",
        "sizes": {"small": {"R": 2, "D": 16384}, "other": {"R": 1, "D": 4}},
    }
    spec.update(overrides)
    return normalize_spec(spec)


def test_shape_expressions_follow_the_typescript_grammar():
    values = {"B": 3, "H": 4, "N": 7}
    assert evaluate_shape_expression("B*H+1", values) == 13
    assert evaluate_shape_expression("N/2", values) == 3
    assert evaluate_shape_expression("-N/2", values) == -4  # floor, as Math.floor
    assert evaluate_shape_expression("2**3**2", values) == 512  # right-associative
    assert evaluate_shape_expression("(B+H)*2 - N % 4", values) == 11
    assert evaluate_shape_expression("-7 % 4", {}) == -3  # JavaScript's remainder sign
    assert shape_expression_identifiers("B*(H+N)-B") == ["B", "H", "N"]
    for bad in ("B +", "B $ 2", "(B", "B H"):
        with pytest.raises(ShapeExpressionError):
            evaluate_shape_expression(bad, values)
    with pytest.raises(ShapeExpressionError, match="unknown dimension 'Q'"):
        evaluate_shape_expression("Q+1", values)


def test_inputs_are_deterministic_and_follow_their_init():
    spec = normalize_spec({
        "id": "jagged", "description": "d", "category": "c", "dimensions": ["B", "N", "V"],
        "inputs": [
            {"name": "offsets", "dtype": "int64", "shape": ["B+1"], "init": {"kind": "offsets", "total": "N"}},
            {"name": "ids", "dtype": "int32", "shape": ["N"], "init": {"kind": "integers", "low": 0, "high": "V"}},
            {"name": "values", "dtype": "float32", "shape": ["N"]},
            {"name": "mask", "dtype": "bool", "shape": ["N"], "init": {"kind": "binary", "probability": 0.25}},
            {"name": "scale", "dtype": "float64", "shape": [2], "init": {"kind": "constant", "value": 1.5}},
        ],
        "outputs": [{"name": "y", "dtype": "float32", "shape": ["B"]}],
        "reference": "def reference(offsets, ids, values, mask, scale):\n    pass\n",
        "sizes": {"small": {"B": 6, "N": 40, "V": 9}, "large": {"B": 50, "N": 1000, "V": 100}},
    })
    first = generate_inputs(spec, "small", 7)
    again = generate_inputs(spec, "small", 7)
    other = generate_inputs(spec, "small", 8)
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(first[2], other[2])
    offsets, ids, values, mask, scale = first
    assert offsets.dtype == torch.int64 and offsets.shape == (7,)
    assert offsets[0] == 0 and offsets[-1] == 40 and bool((offsets[1:] >= offsets[:-1]).all())
    assert bool((offsets[1:] == offsets[:-1]).any()), "an empty segment is always present"
    assert ids.dtype == torch.int32 and int(ids.min()) >= 0 and int(ids.max()) < 9
    assert values.dtype == torch.float32 and abs(float(values.mean())) < 1.0
    assert mask.dtype == torch.bool
    assert torch.equal(scale, torch.tensor([1.5, 1.5], dtype=torch.float64))


def test_spec_errors_name_the_bad_field():
    with pytest.raises(SpecError, match="inputs.0.dtype"):
        make_spec(inputs=[{"name": "x", "dtype": "float8", "shape": ["R"]}])
    with pytest.raises(SpecError, match="missing dimension 'D'"):
        make_spec(sizes={"small": {"R": 2}, "other": {"R": 1, "D": 4}})
    with pytest.raises(SpecError, match="unknown dimension 'Z'"):
        make_spec(outputs=[{"name": "y", "dtype": "float32", "shape": ["Z"]}])


def _verdict(spec, actual, size="small", inputs=None):
    inputs = inputs if inputs is not None else generate_inputs(spec, size, 0)
    expected = [torch.softmax(inputs[0], dim=-1)]
    expected64 = [torch.softmax(inputs[0].double(), dim=-1)]
    return check_trial(spec, size, [(actual, "float32")], expected, expected64, inputs, [(t.clone(), None) for t in inputs], [])


def test_all_zero_output_fails_a_wide_softmax_whose_values_are_below_atol():
    spec = make_spec()
    inputs = generate_inputs(spec, "small", 0)
    assert float(torch.softmax(inputs[0], dim=-1).max()) < 1e-2
    verdict = _verdict(spec, torch.zeros(2, 16384), inputs=inputs)
    assert not verdict.passed and verdict.reason == "wrong_output"
    assert verdict.mismatch["total"] == 2 * 16384 and verdict.mismatch["mismatched"] > 16384
    assert _verdict(spec, torch.softmax(inputs[0], dim=-1), inputs=inputs).passed


def test_precision_downgrade_is_caught_even_within_a_loose_tolerance():
    spec = make_spec(tolerances={"float32": {"atol": 1e-1, "rtol": 1e-1}})
    inputs = generate_inputs(spec, "small", 0)
    downgraded = torch.softmax(inputs[0].to(torch.bfloat16), dim=-1).float()
    verdict = _verdict(spec, downgraded, inputs=inputs)
    assert not verdict.passed and verdict.reason == "precision_downgrade"
    honest = _verdict(spec, torch.softmax(inputs[0].double(), dim=-1).float(), inputs=inputs)
    assert honest.passed and honest.error_ratio is not None


def test_mismatch_reports_the_first_bad_multi_index():
    spec = make_spec(reference="def reference(x):\n    return x * 2\n")
    inputs = generate_inputs(spec, "other", 0)
    actual = inputs[0] * 2
    actual[0, 3] += 1.0
    verdict = check_trial(spec, "other", [(actual, "float32")], [inputs[0] * 2], [inputs[0].double() * 2], inputs,
                          [(t.clone(), None) for t in inputs], [])
    assert verdict.reason == "wrong_output"
    assert verdict.mismatch["firstIndex"] == [0, 3] and verdict.mismatch["mismatched"] == 1
    assert math.isclose(verdict.mismatch["actual"] - verdict.mismatch["expected"], 1.0, rel_tol=1e-5)


def test_integer_outputs_are_compared_exactly_and_shapes_dtypes_checked():
    spec = make_spec(outputs=[{"name": "y", "dtype": "int64", "shape": ["R", "D"]}])
    inputs = generate_inputs(spec, "other", 0)
    expected = torch.arange(4).reshape(1, 4)
    same = [(t.clone(), None) for t in inputs]
    assert check_trial(spec, "other", [(expected.clone(), "int64")], [expected], None, inputs, same, []).passed
    off_by_one = expected.clone()
    off_by_one[0, 0] += 1
    assert check_trial(spec, "other", [(off_by_one, "int64")], [expected], None, inputs, same, []).reason == "wrong_output"
    assert check_trial(spec, "other", [(expected.int(), "int32")], [expected], None, inputs, same, []).reason == "wrong_dtype"
    assert check_trial(spec, "other", [(expected.reshape(4), "int64")], [expected], None, inputs, same, []).reason == "wrong_shape"
    assert check_trial(spec, "other", [(expected.clone(), "int64")], [expected], None, inputs, same, [0]).reason == "output_alias"
    changed = [(inputs[0] + 1, None)]
    assert check_trial(spec, "other", [(expected.clone(), "int64")], [expected], None, inputs, changed, []).reason == "input_modified"


def test_protocol_applies_the_zod_defaults_and_rejects_bad_requests():
    request_id, method, params = parse_request({"id": "r1", "method": "evaluate", "params": {
        "spec": {"id": "x"}, "platform": "cpu", "candidate": {"language": "cpp", "source": "int x;"}}})
    assert (request_id, method) == ("r1", "evaluate")
    assert params["candidate"]["compileFlags"] == []
    options = params["options"]
    assert options["trials"] == 3 and options["minTimeMs"] == 200 and options["memoryLimitMb"] == 8192
    assert options["timing"] is True and options["staticChecks"] == {} and "threads" not in options
    assert parse_request({"id": "h", "method": "hello"}) == ("h", "hello", {})
    bad = [
        ({"method": "hello"}, "id"),
        ({"id": "a", "method": "launch"}, "method"),
        ({"id": "a", "method": "hardware_profile", "params": {}}, "params.platform"),
        ({"id": "a", "method": "evaluate", "params": {"spec": {}, "platform": "cpu", "candidate": {"language": "rust", "source": "x"}}}, "language"),
        ({"id": "a", "method": "evaluate", "params": {"spec": {}, "platform": "cpu", "candidate": {"language": "cpp", "source": ""}}}, "source"),
    ]
    for message, field in bad:
        with pytest.raises(BadRequest, match=field):
            parse_request(message)
    with pytest.raises(BadRequest, match="unknown key"):
        parse_options({"trails": 3})
    with pytest.raises(BadRequest, match="trials"):
        parse_options({"trials": 0})
    with pytest.raises(BadRequest, match="timing"):
        parse_options({"timing": "yes"})
    with pytest.raises(BadRequest, match="staticChecks"):
        parse_options({"staticChecks": {"forbidden_call": "loud"}})
    assert parse_options({"trials": 4.0})["trials"] == 4


def test_templates_parse_constrain_and_instantiate():
    source = (
        "// kernelevolve:template\n// param BLOCK: 8, 16, 32, 64\n// param SCHEDULE: static, dynamic\n"
        "// constraint: BLOCK * 2 <= 64\n#pragma omp parallel for schedule({{SCHEDULE}})\nint block = {{ BLOCK }};\n"
    )
    template = parse_template(source)
    assert template.parameters == {"BLOCK": ["8", "16", "32", "64"], "SCHEDULE": ["static", "dynamic"]}
    chosen = choose_instances(template, budget=10, seed=3)
    assert chosen[0] == {"BLOCK": "8", "SCHEDULE": "static"}
    assert len(chosen) == 6 and all(int(values["BLOCK"]) <= 32 for values in chosen)
    assert chosen == choose_instances(template, budget=10, seed=3)
    text = instantiate(template, {"BLOCK": "16", "SCHEDULE": "dynamic"})
    assert "schedule(dynamic)" in text and "int block = 16;" in text and "{{" not in text
    with pytest.raises(TemplateError, match="UNROLL"):
        parse_template("# kernelevolve:template\n# param BLOCK: 1, 2\nx = {{BLOCK}} + {{UNROLL}}\n")
    with pytest.raises(TemplateError, match="not allowed"):
        parse_template("# kernelevolve:template\n# param BLOCK: 1, 2\n# constraint: __import__('os')\n")
    with pytest.raises(TemplateError, match="not a template"):
        parse_template("int x;")


def test_timing_statistics():
    stats = statistics([3.0, 1.0, 2.0, 4.0, 10.0])
    assert stats["medianMs"] == 3.0 and stats["minMs"] == 1.0 and stats["p90Ms"] == 10.0 and stats["repetitions"] == 5
    assert math.isclose(stats["meanMs"], 4.0)
    assert math.isclose(geometric_mean([2.0, 8.0]), 4.0)


def test_static_checks_honour_modes():
    spec = make_spec(constraints={"forbiddenCalls": ["torch.", "cblas_"]})
    source = "int a;\nvoid f() { cblas_sgemm(); }\n"
    findings = run_static_checks(source, "cpp", spec)
    assert findings == [{"check": "forbidden_call", "severity": "strict", "message": "the source uses 'cblas_', which this spec forbids", "line": 2}]
    assert rejection_reason(findings) == "forbidden_call"
    assert rejection_reason(run_static_checks(source, "cpp", spec, {"forbidden_call": "warn"})) is None
    assert run_static_checks(source, "cpp", spec, {"forbidden_call": "off"}) == []


def test_output_digest_handles_scalar_outputs_and_tells_values_apart():
    first = output_digest([torch.tensor(1.5), torch.tensor([1, 2], dtype=torch.int64)])
    assert first == output_digest([torch.tensor(1.5), torch.tensor([1, 2], dtype=torch.int64)])
    assert first != output_digest([torch.tensor(2.5), torch.tensor([1, 2], dtype=torch.int64)])
    assert output_digest([torch.tensor(1.0, dtype=torch.bfloat16)]) != output_digest([torch.tensor(2.0, dtype=torch.bfloat16)])
