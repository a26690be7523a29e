"""KernelBench import: size constants, structural names, scaling to a budget, inputs from get_inputs, scalars, clear errors."""
import os
import textwrap

import pytest
import torch

from kernelevolve_runtime.fitness.inputs import generate_inputs
from kernelevolve_runtime.kernelbench import scaling
from kernelevolve_runtime.contract.shape_expression import evaluate_shape_expression
from kernelevolve_runtime.kernelbench.importer import import_folder, import_problem, parse_problem_range, parse_scale, problem_folder
from kernelevolve_runtime.kernelbench.problem import Problem, ProblemError
from kernelevolve_runtime.fitness.reference import load_reference, run_reference
from kernelevolve_runtime.contract.spec import normalize_spec

PROBLEMS = os.path.join(os.path.dirname(__file__), "..", "fixtures", "honest", "problems")
BIG = textwrap.dedent('''
    import torch
    import torch.nn as nn

    class Model(nn.Module):
        """Scales rows by a constant."""
        def __init__(self, features):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(features))
        def forward(self, x, factor):
            return x * self.weight * factor

    batch = 8192 * 2  # rows
    features = 4096
    shape = (features,)
    axis = 1
    padding = 0

    def get_inputs():
        return [torch.rand(batch, *shape), 2.5]

    def get_init_inputs():
        return [features]
''')


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_constants_structural_names_and_in_place_rewrite():
    problem = Problem(BIG)
    # `shape = (features,)` is derived, not a literal tuple: it follows `features` when that is rewritten.
    assert problem.defaults == {"batch": 16384, "features": 4096, "axis": 1, "padding": 0}
    assert problem.structural == ["features"]
    rewritten = problem.with_values({"batch": 64})
    assert "batch = 64  # rows" in rewritten and "features = 4096" in rewritten


def test_auto_scale_fits_the_budget_and_reports_factors(tmp_path):
    spec = import_problem(write(tmp_path, "7_big.py", BIG), level=1, scale="auto", memory_bytes=64 << 20, flops=None)
    origin = spec["kernelbench"]
    assert origin["scaled"] is True and origin["footprint"]["bench"]["bytes"] <= 64 << 20
    assert origin["footprint"]["full"]["bytes"] > 64 << 20
    # The largest constant goes first: batch alone until it ties with features.
    assert "batch" in origin["factors"] and origin["factors"]["batch"] == 16384 / spec["sizes"]["bench"]["batch"]
    assert spec["sizes"]["bench"]["batch"] <= spec["sizes"]["bench"]["features"]
    # The test size shrinks only what does not shape the weights.
    assert spec["sizes"]["small"]["features"] == spec["sizes"]["bench"]["features"]
    assert spec["sizes"]["small"]["batch"] < spec["sizes"]["bench"]["batch"]
    assert spec["scalars"] == {"factor": 2.5} and spec["initInputs"] == [spec["sizes"]["bench"]["features"]]
    assert spec["inputs"][0]["shape"] == ["batch", "features"] and "padding" not in spec["dimensions"]
    none = import_problem(write(tmp_path, "7_big.py", BIG), scale="none")
    assert none["kernelbench"]["scaled"] is False and none["sizes"]["bench"]["batch"] == 16384
    quarter = import_problem(write(tmp_path, "7_big.py", BIG), scale=0.25)
    assert quarter["kernelbench"]["footprint"]["bench"]["bytes"] <= 0.25 * quarter["kernelbench"]["footprint"]["full"]["bytes"]


def test_imported_specs_carry_the_compulsory_bytes_for_the_roofline_check(tmp_path):
    spec = import_problem(write(tmp_path, "7_big.py", BIG), level=1, scale="auto", memory_bytes=64 << 20, flops=None)
    # x (batch x features, fp32) read once and the output of the same shape written once; the weights are left out.
    assert spec["cost"] == {"bytes": "4*batch*features + 4*batch*features"}
    for size in ("small", "bench"):
        dims = spec["sizes"][size]
        assert evaluate_shape_expression(spec["cost"]["bytes"], dims) == 2 * 4 * dims["batch"] * dims["features"]
    linear = import_problem(os.path.join(PROBLEMS, "3_linear_relu.py"))
    assert linear["cost"] == {"bytes": "4*batch*in_features + 4*batch*out_features"}


def test_a_tensor_whose_shape_is_only_an_upper_bound_is_left_out_of_the_cost(tmp_path):
    ragged = BIG.replace("return x * self.weight * factor", "return (x * self.weight * factor)[: x.shape[0] // 3 + 1]")
    spec = import_problem(write(tmp_path, "8_ragged.py", ragged), level=1, scale="auto", memory_bytes=64 << 20, flops=None)
    assert not isinstance(spec["outputs"][0]["shape"][0], str)
    assert spec["cost"] == {"bytes": "4*batch*features"}  # the input only: still a lower bound


def test_tied_constants_are_halved_together():
    tied = textwrap.dedent('''
        import torch
        class Model(torch.nn.Module):
            def forward(self, x, t):
                return x * t
        batch = 4096
        dim = 4096
        def get_inputs():
            return [torch.rand(batch, dim), torch.rand(batch)]
        def get_init_inputs():
            return []
    ''')
    values, footprint = scaling.shrink(Problem(tied), {"batch": 4096, "dim": 4096}, 8 << 20, None)
    # x * t broadcasts t over the last axis: halving either constant alone breaks the problem.
    assert footprint.bytes <= 8 << 20 and values["batch"] == values["dim"] < 4096


def test_inputs_come_from_get_inputs_under_the_seed_and_the_reference_uses_seeded_weights():
    spec = normalize_spec(import_problem(os.path.join(PROBLEMS, "3_linear_relu.py")))
    first, again, other = generate_inputs(spec, "small", 5), generate_inputs(spec, "small", 5), generate_inputs(spec, "small", 6)
    assert torch.equal(first[0], again[0]) and not torch.equal(first[0], other[0])
    torch.manual_seed(42)
    layer = torch.nn.Linear(256, 128)
    expected = torch.relu(first[0] @ layer.weight.T + layer.bias)
    native, precise = run_reference(load_reference(spec["reference"]), spec, first)
    assert torch.allclose(native[0], expected, atol=1e-5) and precise[0].dtype == torch.float64


def test_level_one_style_folder_selection_and_errors(tmp_path):
    level = tmp_path / "KernelBench" / "level1"
    level.mkdir(parents=True)
    (level / "1_big.py").write_text(BIG)
    (level / "2_no_inputs.py").write_text("import torch\nclass Model(torch.nn.Module):\n    pass\ndef get_init_inputs():\n    return []\n")
    (level / "3_object_init.py").write_text(BIG.replace("return [features]", "return [torch.float32]"))
    (level / "4_missing_module.py").write_text("import not_a_real_module\n" + BIG)
    assert problem_folder(str(tmp_path), 1) == str(level)
    records = {record["file"]: record for record in import_folder(str(tmp_path), 1)}
    assert records["1_big.py"]["ok"] and records["1_big.py"]["spec"]["id"] == "kb-l1-1-big"
    assert records["2_no_inputs.py"]["reason"] == "unsupported" and "get_inputs" in records["2_no_inputs.py"]["error"]
    assert records["3_object_init.py"]["reason"] == "unsupported" and "dtype" in records["3_object_init.py"]["error"]
    assert records["4_missing_module.py"]["reason"] == "missing_module" and "not_a_real_module" in records["4_missing_module.py"]["error"]
    assert [record["file"] for record in import_folder(str(tmp_path), 1, {2, 4})] == ["2_no_inputs.py", "4_missing_module.py"]
    with pytest.raises(FileNotFoundError, match="no level2 folder"):
        problem_folder(str(tmp_path), 2)


def test_option_parsing_is_strict():
    assert parse_problem_range("1-3,7") == {1, 2, 3, 7} and parse_problem_range(None) is None
    for bad in ("3-1", "a", "1-"):
        with pytest.raises(ValueError):
            parse_problem_range(bad)
    assert parse_scale("auto") == "auto" and parse_scale("0.5") == 0.5
    for bad in ("2", "0", "big"):
        with pytest.raises(ValueError):
            parse_scale(bad)
    with pytest.raises(ProblemError, match="not valid Python"):
        Problem("def (")
