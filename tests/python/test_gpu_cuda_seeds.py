"""Every CUDA seed (baseline and template default) through the runtime's cuda platform: nvcc must build it; without a GPU the
evaluation stops after compile with unsupported_platform, with a GPU it must pass correctness."""
import concurrent.futures
import os

import pytest

from kernelevolve_runtime.gpu.hardware import cuda_device_present
from kernelevolve_runtime.contract.spec_files import load_seed_specs
from kernelevolve_runtime.platforms.cuda import find_nvcc
from kernelevolve_runtime.protocol import parse_options
from kernelevolve_runtime.runtime import Runtime
from kernelevolve_runtime.contract.templates import instantiate, parse_template

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SEEDS = os.path.join(ROOT, "seeds", "kernels", "cuda")
SPECS = load_seed_specs(os.path.join(ROOT, "seeds", "specs"))
CUDA_SPECS = sorted(spec_id for spec_id, spec in SPECS.items() if "cuda" in spec["targets"])
pytestmark = pytest.mark.skipif(find_nvcc() is None, reason="no nvcc on this host (set CUDA_HOME): CUDA seeds cannot be compile-checked")


def sources():
    found = []
    for spec_id in CUDA_SPECS:
        with open(os.path.join(SEEDS, spec_id, "baseline.cu"), encoding="utf-8") as handle:
            found.append((f"{spec_id}/baseline", spec_id, handle.read()))
        with open(os.path.join(SEEDS, spec_id, "template.cu"), encoding="utf-8") as handle:
            template = parse_template(handle.read())
        found.append((f"{spec_id}/template", spec_id, instantiate(template, template.default())))
    return found


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    runtime = Runtime(cache_dir=str(tmp_path_factory.mktemp("compile-cache")), capacities={"cuda": 2})
    runtime.sandbox.start()
    try:
        def evaluate(item):
            label, spec_id, source = item
            options = parse_options({"trials": 2, "timing": False, "compileTimeLimitSeconds": 300})
            return label, runtime.evaluate(SPECS[spec_id], "cuda", {"language": "cuda", "source": source, "compileFlags": []}, options)

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            yield dict(pool.map(evaluate, sources()))
    finally:
        runtime.close()


@pytest.mark.parametrize("label", [label for label, _, _ in sources()])
def test_cuda_seed_compiles_and_is_checked_where_possible(results, label):
    result = results[label]
    assert result["stage"] != "static", f"{label}: rejected by static checks: {result['message']}"
    assert result["stage"] != "compile", f"{label}: {result['message']}\n{result['log']}"
    assert "sm_90a" in result["compile"]["command"] or cuda_device_present()
    if cuda_device_present():
        assert result["status"] == "passed", f"{label}: {result.get('reason')}: {result['message']}"
    else:
        assert (result["stage"], result["reason"]) == ("correctness", "unsupported_platform")
        assert "no CUDA device" in result["message"]


def test_a_compile_error_is_reported_with_the_log(tmp_path):
    runtime = Runtime(cache_dir=str(tmp_path))
    runtime.sandbox.start()
    try:
        source = 'extern "C" void kernel(const float* x, float* y, long R, long C) { undefined_call(); }\n'
        result = runtime.evaluate(SPECS["gelu"], "cuda", {"language": "cuda", "source": source, "compileFlags": []}, parse_options({}))
    finally:
        runtime.close()
    assert (result["stage"], result["reason"]) == ("compile", "compile_error")
    assert "undefined_call" in result["log"] and "identifier" in result["message"]
