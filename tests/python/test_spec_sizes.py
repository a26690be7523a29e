"""The shared cases of tests/contract/spec-sizes.json (jest runs the TypeScript side), and the seed specs at their ragged size."""
import glob
import json
import os

import pytest

from kernelevolve_runtime.contract.spec import (
    SpecError, evaluation_plan, largest_size, normalize_spec, ragged_dimensions, representative_sizes, with_ragged_size,
)
from kernelevolve_runtime.contract.spec_files import load_seed_specs

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
CASES = json.load(open(os.path.join(ROOT, "tests", "contract", "spec-sizes.json"), encoding="utf-8"))


def _spec(raw):
    spec = {"id": "case", "description": "a size case", "category": "case", "reference": "def reference(*args): pass", **raw}
    return normalize_spec(spec)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_shared_size_case(case):
    spec = _spec(case["spec"])
    expected = case["expected"]
    assert largest_size(spec) == expected["largest"]
    assert representative_sizes(spec) == expected["representative"]
    assert ragged_dimensions(spec) == expected["ragged"]
    checked, timed, flags = evaluation_plan(spec, case["requested"])
    assert (checked, timed, flags) == (expected["checked"], expected["timed"], expected["flags"])


def test_bad_size_settings_are_refused_with_the_field():
    base = CASES[0]["spec"]
    with pytest.raises(SpecError, match="representativeSizes.0"):
        _spec({**base, "representativeSizes": ["huge"]})
    with pytest.raises(SpecError, match="raggedSize"):
        _spec({**base, "raggedSize": "yes"})


def test_every_seed_spec_has_a_ragged_size_whose_shapes_resolve():
    specs = load_seed_specs()  # seeds/specs as the TypeScript loader exports them (contract/seed-specs.json)
    assert len(specs) == len(glob.glob(os.path.join(ROOT, "seeds", "specs", "*.yaml")))
    for spec_id, spec in specs.items():
        spec = with_ragged_size(spec)
        assert "ragged" in spec["sizes"], spec_id
        normalize_spec(spec)  # every shape resolves at the ragged size
