"""Units of the GPU platforms that need no GPU: roofline verdicts, spec reader, arch flags, launch guard, summary."""
import os

import pytest
import torch

from kernelevolve_runtime.bench.gpu import GPU_SIZES, with_gpu_size
from kernelevolve_runtime.bench.summary import markdown, memory_bound, summarize
from kernelevolve_runtime.gpu.hardware import cuda_arch_flag, peak_fp32_tflops
from kernelevolve_runtime.gpu.launch_guard import GuardedBinding, LaunchGuard
from kernelevolve_runtime.gpu.roofline import roofline_verdict
from kernelevolve_runtime.contract.spec_files import load_seed_specs
from kernelevolve_runtime.platforms.base import CandidateViolation
from kernelevolve_runtime.platforms.registry import create_platform

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SPECS = load_seed_specs(os.path.join(ROOT, "seeds", "specs"))


def test_roofline_flags_above_copy_bandwidth_and_rejects_impossible_large_sizes():
    spec = with_gpu_size(SPECS["gelu"])
    entry = {"achievedBandwidthGBs": 3000.0}
    assert roofline_verdict(spec, "gpu", entry, 4000.0, 60 << 20) is None
    flagged = roofline_verdict(spec, "gpu", {"achievedBandwidthGBs": 4400.0}, 4000.0, 60 << 20)
    assert flagged == {"flag": "above-roofline", "fatal": None}
    # 8 * 8192 * 4096 bytes = 268 MB, over 4x a 60 MB L2: 2x the copy bandwidth cannot be real.
    impossible = roofline_verdict(spec, "gpu", {"achievedBandwidthGBs": 8000.0}, 4000.0, 60 << 20)
    assert impossible["fatal"] and "cannot be real" in impossible["fatal"]
    # The small size fits in L2: a high figure is flagged, never fatal.
    assert roofline_verdict(spec, "small", {"achievedBandwidthGBs": 8000.0}, 4000.0, 60 << 20)["fatal"] is None
    assert roofline_verdict(spec, "gpu", {"achievedTflops": 80.0}, 4000.0, 60 << 20, peak_fp32_tflops=67.0)["flag"] == "above-roofline"


def test_seed_specs_from_the_json_export_match_their_known_values():
    assert len(SPECS) == 13 and set(GPU_SIZES) == set(SPECS)
    assert SPECS["layernorm"]["scalars"] == {"eps": 1e-5}
    assert SPECS["gelu"]["sizes"]["large"] == {"R": 2048, "C": 3072}
    assert SPECS["dlrm-interaction"]["outputs"][0]["shape"] == ["B", "F*(F-1)/2"]
    assert SPECS["embedding-bag-sum"]["inputs"][2]["init"] == {"kind": "offsets", "total": "N"}
    assert SPECS["row-softmax"]["reference"].startswith("import torch\n\ndef reference(x):\n")
    assert all(spec["cost"]["bytes"] for spec in SPECS.values())
    for spec_id, spec in SPECS.items():
        sizes = with_gpu_size(spec)["sizes"]
        assert list(sizes)[0] == list(spec["sizes"])[0] and list(sizes)[-1] == "gpu", spec_id


def test_arch_flags_use_the_hopper_specific_target():
    assert cuda_arch_flag(9, 0) == "-gencode=arch=compute_90a,code=sm_90a"
    assert cuda_arch_flag(8, 0) == "-gencode=arch=compute_80,code=sm_80"
    assert peak_fp32_tflops({"major": 9, "smCount": 132, "clockKhz": 1980000}) == pytest.approx(66.9, abs=0.1)


def test_the_launch_guard_rejects_torch_compute_and_allows_allocation():
    guard = LaunchGuard()
    x = torch.ones(4)

    def honest():
        guard.pause()
        try:
            torch.sin(x)  # inside a "launch" anything goes
        finally:
            guard.resume()
        return [torch.empty(4).view(2, 2)]

    assert GuardedBinding(_Call(honest), guard, require_launch=True)()[0].shape == (2, 2)
    with pytest.raises(CandidateViolation, match="aten.sin"):
        GuardedBinding(_Call(lambda: [torch.sin(x)]), guard, require_launch=False)()
    with pytest.raises(CandidateViolation, match="launched no kernel"):
        GuardedBinding(_Call(lambda: [torch.empty(1)]), guard, require_launch=True)()
    binding = GuardedBinding(_Call(lambda: [torch.sin(x)]), LaunchGuard(), require_launch=False)
    binding.calls = 2  # past the guarded calls (timing): runs bare
    assert binding()[0].shape == (4,)


class _Call:
    def __init__(self, function):
        self.function = function
        self.outputs = None

    def __call__(self):
        self.outputs = self.function()
        return self.outputs


def test_gpu_platforms_register_with_their_languages_and_no_address_space_limit():
    cuda, triton = create_platform("cuda"), create_platform("triton")
    assert cuda.languages == ("cuda", "python") and triton.languages == ("triton", "python")
    assert not cuda.uses_address_space_limit and not triton.uses_address_space_limit
    if not triton.has_gpu:
        assert triton.timing_skipped() and triton.worker_environment("/tmp/x")["TRITON_INTERPRET"] == "1"
        assert triton.device_type == "cpu" and triton.hardware_profile()["device"] == "no CUDA device on this host"
    assert triton.worker_environment("/tmp/x")["TRITON_CACHE_DIR"] == "/tmp/x/triton-cache"


def test_summary_reads_best_speedups_bandwidth_fractions_and_geomeans():
    specs = {"gelu": with_gpu_size(SPECS["gelu"]), "linear-bias-relu": with_gpu_size(SPECS["linear-bias-relu"])}
    assert memory_bound(specs["gelu"], 8.0) and not memory_bound(specs["linear-bias-relu"], 8.0)

    def timed(speedup, bandwidth):
        return {"status": "passed", "flags": [], "timings": [{"size": "gpu", "speedup": speedup, "achievedBandwidthGBs": bandwidth,
                                                             "achievedTflops": None, "candidateMs": 1.0, "referenceMs": speedup}]}

    autotune = [
        {"name": "cuda/gelu/baseline", "platform": "cuda", "spec": "gelu", "results": [{"params": None, **timed(1.1, 2000.0)}]},
        {"name": "cuda/gelu/template", "platform": "cuda", "spec": "gelu",
         "results": [{"params": {"A": 1}, **timed(1.5, 3000.0)}, {"params": {"A": 2}, **timed(2.0, 3600.0)}]},
        {"name": "cuda/linear-bias-relu/template", "platform": "cuda", "spec": "linear-bias-relu", "results": [{"params": {"B": 1}, **timed(0.5, None)}]},
    ]
    summary = summarize(specs, {"cuda": {"copyBandwidthGBs": 4000.0}}, [{"candidate": "x", "status": "passed"}], autotune,
                        [{"cheat": "c", "ok": True}], 8.0)
    gelu = next(row for row in summary["rows"] if row["spec"] == "gelu")
    assert gelu["bestSpeedup"] == 2.0 and gelu["bestParams"] == {"A": 2} and gelu["baselineSpeedup"] == 1.1
    assert gelu["copyFraction"] == pytest.approx(0.9)
    assert summary["geomeanSpeedup"]["cuda"] == pytest.approx(1.0)
    assert summary["memoryBoundAt80PercentOfCopy"] == 1 and summary["cheats"]["rejectedWithExpectedReason"] == 1
    assert "| cuda | gelu | 2.00x | 1.10x | 3600 | 90% |" in markdown(summary, {"cuda": {"device": "H200"}})
