"""The shared cases of tests/contract/shared-cases.json, Python side (jest runs tests/contract/shared-cases.test.ts on the
same file), and the Python runtime's use of the generated JSON Schemas (contract/schemas)."""
import json
import os
import re

import pytest

from kernelevolve_runtime.contract.shape_expression import (
    ShapeExpressionError, evaluate_shape_expression, shape_expression_identifiers,
)
from kernelevolve_runtime.contract.spec import SpecError, load_spec, normalize_spec
from kernelevolve_runtime.contract.spec_files import load_seed_specs
from kernelevolve_runtime.contract.templates import (
    TemplateError, choose_instances, instantiate, parse_constraint, parse_template, source_hash, typed_value,
)
from kernelevolve_runtime.protocol import BadRequest, parse_options, parse_request

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
        assert source_hash(case["language"], text) == instance["hash"]


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
        _assert_field_error(SpecError, normalize_spec, case["spec"], case["error"])
        return
    assert normalize_spec(case["spec"]) == case["expected"]


@pytest.mark.parametrize("case", CASES["requests"], ids=_ids(CASES["requests"]))
def test_request(case):
    if "error" in case:
        _assert_field_error(BadRequest, parse_request, case["request"], case["error"])
        return
    _, _, params = parse_request(case["request"])
    assert params == case["params"]


def _assert_field_error(error_type, function, value, expected):
    """The error names the field (`path`, dotted, as zod's issue path) and says what `mentions` says."""
    with pytest.raises(error_type) as raised:
        function(value)
    assert raised.value.path == expected["path"], str(raised.value)
    assert expected["mentions"] in str(raised.value)


def _literal(text):
    return re.escape(text)


def test_every_seed_template_parses_and_instantiates_under_the_shared_rules():
    import glob

    paths = sorted(glob.glob(os.path.join(ROOT, "seeds", "kernels", "*", "*", "template.*")))
    assert len(paths) > 30
    for path in paths:
        template = parse_template(open(path, encoding="utf-8").read(), path)
        text = instantiate(template, template.default())
        assert "{{" not in text and "kernelevolve:instance" in text and "kernelevolve:template" not in text, path


def test_choose_instances_starts_with_the_default_and_is_seeded():
    template = parse_template(CASES["templates"][1]["source"])
    chosen = choose_instances(template, budget=4, seed=3)
    assert chosen[0] == template.default() and len(chosen) == 4 and len({tuple(values.items()) for values in chosen}) == 4
    assert chosen == choose_instances(template, budget=4, seed=3)
    assert all(template.allows(values) for values in chosen)


def test_seed_specs_come_from_the_json_export(tmp_path):
    specs = load_seed_specs()
    assert "layernorm" in specs and specs == load_seed_specs(os.path.join(ROOT, "seeds", "specs"))
    (tmp_path / "a.yaml").write_text("id: a\n")
    with pytest.raises(SpecError, match="as JSON"):
        load_seed_specs(str(tmp_path))
    with pytest.raises(SpecError, match="as JSON"):
        load_spec(str(tmp_path / "a.yaml"))
    # `kernelevolve specs show <id> --json` wraps the spec with a summary; load_spec reads its `spec` field.
    shown = tmp_path / "shown.json"
    shown.write_text(json.dumps({"id": "layernorm", "sizes": ["small"], "spec": specs["layernorm"]}))
    assert load_spec(str(shown)) == specs["layernorm"]


def test_options_parse_like_zod_and_integral_floats_become_ints():
    options = parse_options({"trials": 4.0, "minTimeMs": 50})
    assert options["trials"] == 4 and isinstance(options["trials"], int) and options["minTimeMs"] == 50
    with pytest.raises(BadRequest, match="--options.maxRepetitions"):
        parse_options({"minRepetitions": 10, "maxRepetitions": 5}, "--options")
    with pytest.raises(BadRequest) as raised:
        parse_options({"trials": "3"}, "--options")
    assert raised.value.path == "--options.trials"


def test_the_subset_validator_agrees_with_jsonschema_on_every_shared_case():
    """Hosts without python jsonschema (the GPU image) validate with schemas.py's subset validator: same fields, same defaults."""
    from kernelevolve_runtime.contract import schemas

    pytest.importorskip("jsonschema")
    runs = [("spec", "KernelSpec", case["spec"]) for case in CASES["specs"]]
    runs += [("protocol", "RuntimeRequest", case["request"]) for case in CASES["requests"]]
    for document, definition, value in runs:
        outcomes = []
        for use_library in (True, False):
            try:
                outcomes.append(("ok", schemas.check(document, definition, value, use_library=use_library)))
            except schemas.ContractError as error:
                outcomes.append(("error", error.path))
        assert outcomes[0] == outcomes[1], (definition, value)
    for spec in load_seed_specs().values():
        assert schemas.check("spec", "KernelSpec", spec, use_library=False) == schemas.check("spec", "KernelSpec", spec)


def test_the_generated_schemas_use_only_keywords_the_subset_validator_knows():
    from kernelevolve_runtime.contract import schemas

    def keywords(node, found):
        if isinstance(node, dict):
            for key, value in node.items():
                found.add(key)
                if key in ("properties", "definitions"):
                    for child in value.values():
                        keywords(child, found)
                elif key != "default":
                    keywords(value, found)
        elif isinstance(node, list):
            for item in node:
                keywords(item, found)
        return found

    for name in ("spec", "protocol"):
        unknown = keywords(schemas.schema_document(name), set()) - schemas.SUBSET_KEYWORDS - schemas.ANNOTATIONS
        assert not unknown, f"{name}.schema.json uses {sorted(unknown)}: teach schemas._subset_error them"


def test_without_jsonschema_the_runtime_still_validates(tmp_path):
    """As on the GPU hosts: python jsonschema cannot be imported."""
    import subprocess
    import sys

    script = (
        "import sys; sys.modules['jsonschema'] = None\n"
        "from kernelevolve_runtime.contract import schemas\n"
        "from kernelevolve_runtime.contract.spec_files import load_seed_specs\n"
        "from kernelevolve_runtime.protocol import BadRequest, parse_request\n"
        "assert schemas.Draft7Validator is None and len(load_seed_specs()) > 10\n"
        "try:\n"
        "    parse_request({'id': 'a', 'method': 'evaluate', 'params': {'spec': {}, 'platform': 'cpu',\n"
        "                   'candidate': {'language': 'cpp', 'source': 'x'}, 'options': {'trials': 0}}})\n"
        "except BadRequest as error:\n"
        "    print(error.path)\n"
    )
    environment = {**os.environ, "PYTHONPATH": os.path.join(ROOT, "python")}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "params.options.trials"
