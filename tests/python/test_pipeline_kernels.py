"""Pipeline -> kernels -> pipeline: the measured profile and its specs, swapping kernels into the AOViFT and ExFM steps
(outputs unchanged within tolerance), a wrong kernel refused by the check, the custom operators, the command line."""
import json
import os

import pytest
import torch
import yaml

from pipelines.aovift.spec_writer import to_yaml
from pipelines.kernels import swap
from pipelines.kernels.commands import main
from pipelines.kernels.artifacts import load_artifact
from pipelines.kernels.bench import compare_outputs, default_kernels
from pipelines.kernels.profile import profile_steps
from pipelines.kernels.steps import AoviftSteps, ExfmSteps

SMALL_EXFM = {"target": "vm", "batch": 64, "examples": 512}


@pytest.fixture(autouse=True)
def restore_swaps():
    swap.uninstall()
    yield
    swap.uninstall()


@pytest.fixture(scope="module")
def kernels():
    found = default_kernels("cpu")
    assert set(found) == {"aovift.max_pool3d", "aovift.neumann_poisson", "exfm.dot_interaction", "exfm.repeat_interleave"}
    return {name: load_artifact(path) for name, path in found.items()}


@pytest.fixture(scope="module")
def aovift_steps():
    torch.set_num_threads(1)
    return AoviftSteps(batch=2)


@pytest.fixture(scope="module")
def exfm_steps():
    return ExfmSteps(**SMALL_EXFM)


def _reference(spec):
    namespace = {}
    exec(spec["reference"], namespace)
    return namespace["reference"]


def test_exfm_profile_ranks_measured_operators_and_writes_their_specs(tmp_path, exfm_steps):
    result = profile_steps(exfm_steps, str(tmp_path), "exfm", "test", to_yaml, top=40, min_share=0.0, repeats=1)
    ranked = result["measured_operators"]
    assert ranked and all(row["name"].startswith("aten::") for row in ranked)
    times = [row["self_ms"] for row in ranked]
    assert times == sorted(times, reverse=True)
    assert set(ranked[0]["steps"]) <= {"training", "inference"} and sum(row["share"] for row in ranked) <= 1.0 + 1e-6
    mapped = {entry["operator"]: entry for entry in result["hot_operators"]}
    # repeat_interleave ran inside the jagged select's swap region, bmm inside the dot interaction's: both map to their swappable spec.
    assert mapped["aten::repeat_interleave"]["swap_op"] == "exfm.repeat_interleave"
    assert "exfm.dot_interaction" in next(row for row in ranked if row["name"] == "aten::bmm")["inside_swap"]
    assert any(entry.get("swap_op") == "exfm.dot_interaction" for entry in result["hot_operators"])
    spec = yaml.safe_load(open(mapped["aten::repeat_interleave"]["path"]))
    assert spec["id"] == "exfm-repeat-interleave" and set(spec["sizes"]) == {"small", "profiled", "large"}
    assert any(path.endswith(os.path.join("seeds", "cpu", "exfm-repeat-interleave", "template.cpp")) for path in mapped["aten::repeat_interleave"]["seeds"])
    # The spec's reference is the operator's torch code: equal to what the pipeline runs.
    values, offsets = torch.tensor([3, 1, 4]), torch.tensor([0, 2, 2, 5])
    assert torch.equal(_reference(spec)(values, offsets), swap.repeat_by_offsets(values, offsets))
    # An operator without a swappable or seeded fit gets a spec calling the measured aten overload.
    generic = [entry for entry in result["hot_operators"] if entry["mapping"] == "generic"]
    assert generic
    spec = yaml.safe_load(open(generic[0]["path"]))
    assert "torch.ops.aten." in spec["reference"] and len(spec["sizes"]) >= 2
    assert result["operator_spec_paths"] and all(os.path.isfile(path) for path in result["operator_spec_paths"])


def test_aovift_profile_maps_the_embedding_operators_to_swappable_specs(tmp_path, aovift_steps):
    result = profile_steps(aovift_steps, str(tmp_path), "aovift", "test", to_yaml, top=40, min_share=0.0, repeats=1)
    mapped = {entry["operator"]: entry for entry in result["hot_operators"]}
    assert mapped["aten::max_pool3d_with_indices"]["swap_op"] == "aovift.max_pool3d"
    spec = yaml.safe_load(open(mapped["aten::max_pool3d_with_indices"]["path"]))
    # Window, stride and padding come from the measured call; the profiled size from the measured shape.
    assert spec["scalars"] == {"KZ": 5.0, "KY": 7.0, "KX": 7.0}
    assert spec["sizes"]["profiled"] == {"B": 2, "C": 1, "Z": 32, "Y": 32, "X": 32}
    x = torch.rand(2, 1, 9, 11, 13)
    assert torch.equal(_reference(spec)(x, 5.0, 7.0, 7.0), swap.max_pool3d_same(x, 5, 7, 7))
    fft_rows = [entry for entry in result["hot_operators"] if entry.get("swap_op") == "aovift.neumann_poisson"]
    assert fft_rows, "the unwrap's FFTs are attributed to its Poisson solve"
    poisson = yaml.safe_load(open(fft_rows[0]["path"]))
    residual = torch.randn(3, 7, 9, dtype=torch.float64)
    assert torch.allclose(_reference(poisson)(residual), swap.neumann_poisson(residual), atol=1e-12)


def test_swapped_kernels_keep_the_aovift_steps_outputs(aovift_steps, kernels):
    ops = {name: kernels[name] for name in ("aovift.max_pool3d", "aovift.neumann_poisson")}
    for kind in ("training", "inference"):
        before = aovift_steps.outputs(kind)
        with swap.swapped(ops) as reports:
            assert all(report["ok"] for report in reports.values())
            after = aovift_steps.outputs(kind)
        check = compare_outputs(before, after, atol=1e-5, rtol=1e-4)
        assert check["outputs_match"], check


def test_swapped_kernels_keep_the_exfm_steps_outputs(exfm_steps, kernels):
    ops = {name: kernels[name] for name in ("exfm.dot_interaction", "exfm.repeat_interleave")}
    for kind in ("training", "inference"):
        before = exfm_steps.outputs(kind)
        with swap.swapped(ops):
            after = exfm_steps.outputs(kind)
        check = compare_outputs(before, after, atol=1e-5, rtol=1e-4)
        assert check["outputs_match"], check
        assert check["outputs"] > 1 if kind == "training" else True


def test_the_swap_really_runs_the_kernel(exfm_steps, kernels, monkeypatch):
    calls = []
    artifact = kernels["exfm.dot_interaction"]
    original = artifact.call
    monkeypatch.setattr(artifact, "call", lambda *args: calls.append(1) or original(*args))
    with swap.swapped({"exfm.dot_interaction": artifact}, verify=False):
        exfm_steps.step("training")
    assert calls
    calls.clear()
    exfm_steps.step("training")  # nothing installed: today's torch ops
    assert not calls


WRONG_POOL = """#include <cstdint>
// Pools a window one voxel narrower in x than asked: right on most voxels, wrong near maxima.
extern "C" void kernel(const float* x, float* out, int64_t B, int64_t C, int64_t Z, int64_t Y, int64_t X, double KZ, double KY, double KX) {
  const int64_t rz = (int64_t)KZ / 2, ry = (int64_t)KY / 2, rx = (int64_t)KX / 2 - 1;
  for (int64_t v = 0; v < B * C; ++v)
    for (int64_t z = 0; z < Z; ++z) for (int64_t y = 0; y < Y; ++y) for (int64_t i = 0; i < X; ++i) {
      float best = x[((v * Z + z) * Y + y) * X + i];
      for (int64_t a = z - rz; a <= z + rz; ++a) for (int64_t b = y - ry; b <= y + ry; ++b) for (int64_t c = i - rx; c <= i + rx; ++c)
        if (a >= 0 && a < Z && b >= 0 && b < Y && c >= 0 && c < X && x[((v * Z + a) * Y + b) * X + c] > best) best = x[((v * Z + a) * Y + b) * X + c];
      out[((v * Z + z) * Y + y) * X + i] = best;
    }
}
"""

WRONG_DOT = """#include <cstdint>
// Pairs (i, j) with j <= i: includes the diagonal, so every row after the first is shifted.
extern "C" void kernel(const float* f, float* out, int64_t B, int64_t F, int64_t D) {
  for (int64_t b = 0; b < B; ++b) {
    int64_t k = 0;
    for (int64_t i = 1; i < F; ++i)
      for (int64_t j = 0; j < i; ++j, ++k) {
        float sum = 0;
        for (int64_t d = 0; d < D; ++d) sum += f[(b * F + i) * D + d] * f[(b * F + (j + (i > 2))) * D + d];
        out[b * (F * (F - 1) / 2) + k] = sum;
      }
  }
}
"""


@pytest.mark.parametrize("op,source", [("aovift.max_pool3d", WRONG_POOL), ("exfm.dot_interaction", WRONG_DOT)])
def test_a_wrong_kernel_is_refused(tmp_path, op, source):
    path = tmp_path / "wrong.cpp"
    path.write_text(source)
    report = swap.check(op, str(path))
    assert not report["ok"] and any(not case.get("ok") for case in report["cases"])
    with pytest.raises(swap.SwapError, match="fails the check"):
        swap.install(op, str(path))
    assert op not in swap.installed()


def test_a_wrong_kernel_forced_in_is_caught_by_the_step_output_check(tmp_path, exfm_steps):
    path = tmp_path / "wrong.cpp"
    path.write_text(WRONG_DOT)
    before = exfm_steps.outputs("inference")
    with swap.swapped({"exfm.dot_interaction": str(path)}, verify=False):
        after = exfm_steps.outputs("inference")
    assert not compare_outputs(before, after, atol=1e-5, rtol=1e-4)["outputs_match"]


def test_bench_can_leave_a_failing_kernel_as_torch(tmp_path, kernels):
    from pipelines.kernels.bench import swap_bench

    wrong = tmp_path / "wrong.cpp"
    wrong.write_text(WRONG_DOT)
    paths = {"exfm.dot_interaction": str(wrong), "exfm.repeat_interleave": kernels["exfm.repeat_interleave"].path}
    with pytest.raises(swap.SwapError):
        swap_bench("exfm", paths, rounds=1, options=SMALL_EXFM)
    result = swap_bench("exfm", paths, rounds=1, options=SMALL_EXFM, skip_failing=True)
    assert set(result["refused"]) == {"exfm.dot_interaction"} and set(result["kernels"]) == {"exfm.repeat_interleave"}
    assert all(item["check"]["outputs_match"] for item in result["results"].values())


def test_custom_operators_have_fake_and_autograd_implementations(kernels):
    with swap.swapped({"exfm.dot_interaction": kernels["exfm.dot_interaction"], "aovift.max_pool3d": kernels["aovift.max_pool3d"],
                       "aovift.neumann_poisson": kernels["aovift.neumann_poisson"]}):
        features = torch.randn(4, 5, 3, dtype=torch.float32, requires_grad=True)
        torch.library.opcheck(swap.ops()["exfm.dot_interaction"].custom, (features,),
                              test_utils=("test_schema", "test_faketensor", "test_autograd_registration"))
        # Gradients through the swapped operator equal torch's.
        swapped = swap.call("exfm.dot_interaction", features)
        grad = torch.randn_like(swapped)
        (got,) = torch.autograd.grad(swapped, features, grad)
        (expected,) = torch.autograd.grad(swap.dot_interaction(features), features, grad)
        assert torch.allclose(got, expected, atol=1e-5)
        x = torch.rand(1, 1, 5, 6, 7, requires_grad=True)
        (got,) = torch.autograd.grad(swap.call("aovift.max_pool3d", x, 3, 3, 3).sum(), x)
        (expected,) = torch.autograd.grad(swap.max_pool3d_same(x, 3, 3, 3).sum(), x)
        assert torch.equal(got, expected)
        residual = torch.randn(2, 6, 5, dtype=torch.float64, requires_grad=True)
        (got,) = torch.autograd.grad((swap.call("aovift.neumann_poisson", residual) ** 2).sum(), residual)
        (expected,) = torch.autograd.grad((swap.neumann_poisson(residual) ** 2).sum(), residual)
        assert torch.allclose(got, expected, atol=1e-10)
        fake = torch._subclasses.FakeTensorMode()
        with fake:
            shape = swap.ops()["aovift.max_pool3d"].custom(fake.from_tensor(torch.rand(2, 1, 4, 4, 4)), 3, 3, 3).shape
        assert tuple(shape) == (2, 1, 4, 4, 4)


def test_command_line_swap_round_trip(capsys, tmp_path):
    arguments = {"pipeline": "exfm", "rounds": 1, "options": SMALL_EXFM}
    code = main(["swap", "--threads", "1", "--args-json", json.dumps(arguments)])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and result["ok"]
    assert set(result["kernels"]) == {"exfm.dot_interaction", "exfm.repeat_interleave"}
    for kind in ("training", "inference"):
        item = result["results"][kind]
        assert item["check"]["outputs_match"] and item["torch_ms"] > 0 and item["swapped_ms"] > 0
        assert set(item["swapped_ops_in_step"]) == {"exfm.dot_interaction", "exfm.repeat_interleave"}
    wrong = tmp_path / "wrong.cpp"
    wrong.write_text(WRONG_DOT)
    code = main(["check", "--args-json", json.dumps({"op": "exfm.dot_interaction", "kernel": str(wrong)})])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["ok"] is False
    code = main(["swap", "--args-json", json.dumps({"pipeline": "exfm", "kernels": {"exfm.dot_interaction": str(wrong)}})])
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 2 and "fails the check" in result["error"]


def test_swapped_checks_kernels_on_the_pipelines_device(monkeypatch, kernels):
    # A GPU pipeline's Triton kernels must be checked on GPU tensors: swapped() once re-checked every kernel on the
    # CPU whatever the device, and the GPU swap bench refused all Triton kernels.
    seen = []

    def recording_check(name, artifact, device="cpu", seed=0):
        seen.append(device)
        return {"op": name, "kernel": "recorded", "ok": True, "cases": []}

    monkeypatch.setattr(swap, "check", recording_check)
    with swap.swapped({"exfm.dot_interaction": kernels["exfm.dot_interaction"]}, device="cuda:3"):
        pass
    with swap.swapped({"exfm.dot_interaction": kernels["exfm.dot_interaction"]}):
        pass
    assert seen == ["cuda:3", "cpu"]


def test_profile_writes_top_specs_past_operators_no_spec_fits(tmp_path, exfm_steps):
    # The hottest operators of a small step are often bookkeeping or integer-only (no spec fits): they are listed
    # with their reason and do not take the places of the `top` operators that get a spec.
    result = profile_steps(exfm_steps, str(tmp_path), "exfm", "test", to_yaml, top=2, min_share=0.0, repeats=1)
    hot, specified = result["hot_operators"], [entry for entry in result["hot_operators"] if "path" in entry]
    assert all(entry["reason"] for entry in hot if "path" not in entry)
    if len(specified) == 2:
        assert hot[-1] is specified[-1]  # it stopped at the second spec
    else:
        # Fewer specifiable operators than asked: it went on through every candidate (4 x top, hottest first).
        assert len(specified) < 2 and len(hot) == min(8, len(result["measured_operators"]))
    assert [entry["operator"] for entry in hot] == [row["name"] for row in result["measured_operators"][:len(hot)]]
