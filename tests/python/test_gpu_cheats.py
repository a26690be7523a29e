"""The GPU cheating fixtures (tests/fixtures/gpu-cheats): each must be rejected with its expected reason by the runtime's own
checks (static checks switched off); those that need a GPU skip with a reason here."""
import json
import os

import pytest

from kernelevolve_runtime.fitness.autotune import detect_language
from kernelevolve_runtime.gpu.hardware import cuda_device_present
from kernelevolve_runtime.contract.spec_files import load_seed_specs
from kernelevolve_runtime.platforms.cuda import find_nvcc
from kernelevolve_runtime.protocol import parse_options
from kernelevolve_runtime.runtime import Runtime
from kernelevolve_runtime.fitness.static_checks import CHECKS

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FOLDER = os.path.join(ROOT, "tests", "fixtures", "gpu-cheats")
with open(os.path.join(FOLDER, "expected.json"), encoding="utf-8") as _handle:
    EXPECTED = json.load(_handle)
SPEC = load_seed_specs(os.path.join(ROOT, "seeds", "specs"))[EXPECTED["spec"]]
HAS_GPU = cuda_device_present()


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    runtime = Runtime(cache_dir=str(tmp_path_factory.mktemp("compile-cache")))
    runtime.sandbox.start()
    yield runtime
    runtime.close()


def read(name):
    with open(os.path.join(FOLDER, name), encoding="utf-8") as handle:
        return handle.read()


def test_every_cheat_names_its_hack_on_the_first_line():
    for name in EXPECTED["cheats"]:
        first = read(name).splitlines()[0]
        assert first.startswith(("// Hack:", "# Hack:")), name


@pytest.mark.parametrize("name", sorted(EXPECTED["cheats"]))
def test_cheat_is_rejected_by_the_runtime_checks(runtime, name):
    entry = EXPECTED["cheats"][name]
    expected = entry["gpu"] if HAS_GPU else entry["cpu"]
    if expected is None:
        pytest.skip(f"{name} needs a CUDA GPU to run at all (no GPU here)")
    if entry["platform"] == "cuda" and find_nvcc() is None:
        pytest.skip("no nvcc on this host")
    source = read(name)
    sizes = list(SPEC["sizes"])[-1:] if HAS_GPU else list(SPEC["sizes"])[:1]
    options = parse_options({"sizes": sizes, "trials": 3, "minTimeMs": 20, "maxRepetitions": 100, "timeLimitSeconds": 120,
                             # The runtime's checks are under test: the compile-time import allowlist (symbol_policy.py, which
                             # refuses side-stream calls outright; test_symbol_policy.py) would stop some fixtures first.
                             "staticChecks": {**{check: "off" for check in CHECKS}, "symbol_policy": "off"}})
    result = runtime.evaluate(SPEC, entry["platform"], {"language": detect_language(name, source), "source": source, "compileFlags": []}, options)
    assert result["status"] == "failed" and result["reason"] in expected, f"{name}: {result.get('reason')}: {result['message']}"
    if result["reason"] == "forbidden_call":
        assert "gelu" in result["message"] or "launched no kernel" in result["message"]


def test_an_honest_launcher_passes_the_launch_guard_where_the_cheat_fails(runtime):
    source = read("torch_ops.py").replace("    y.copy_(torch.nn.functional.gelu(x))\n", "")
    source = source.replace("_touch[(1,)](y, BLOCK=16)", "_touch[(1,)](y, BLOCK=16)\n    _gelu_body(x, y, R * C)")
    source += '''

@triton.jit
def _gelu(x_pointer, y_pointer, count, BLOCK: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < count
    x = tl.load(x_pointer + offsets, mask=mask)
    tl.store(y_pointer + offsets, 0.5 * x * (1.0 + tl.math.erf(x * 0.7071067811865476)), mask=mask)


def _gelu_body(x, y, count):
    _gelu[(triton.cdiv(count, 256),)](x, y, count, BLOCK=256)
'''
    options = parse_options({"sizes": list(SPEC["sizes"])[:1], "trials": 2, "timing": False})
    result = runtime.evaluate(SPEC, "triton", {"language": "triton", "source": source, "compileFlags": []}, options)
    assert result["status"] == "passed", result["message"]
