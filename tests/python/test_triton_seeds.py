"""Every Triton seed (baseline and template default) through the real runtime, language triton, at the smallest size.

Without a GPU the kernels run in Triton's CPU interpreter: correctness only, and the result must say timing was skipped.
"""
import concurrent.futures
import os

import pytest

from kernelevolve_runtime.contract.spec import ragged_value

from kernelevolve_runtime.gpu.hardware import cuda_device_present
from kernelevolve_runtime.contract.spec_files import load_seed_specs
from kernelevolve_runtime.protocol import parse_options
from kernelevolve_runtime.runtime import Runtime
from kernelevolve_runtime.contract.templates import instantiate, parse_template

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SEEDS = os.path.join(ROOT, "seeds", "kernels", "triton")
SPECS = load_seed_specs(os.path.join(ROOT, "seeds", "specs"))
TRITON_SPECS = sorted(spec_id for spec_id, spec in SPECS.items() if "triton" in spec["targets"])


def sources():
    """(label, spec id, source) of every baseline and template default instance."""
    found = []
    for spec_id in TRITON_SPECS:
        with open(os.path.join(SEEDS, spec_id, "baseline.py"), encoding="utf-8") as handle:
            found.append((f"{spec_id}/baseline", spec_id, handle.read()))
        with open(os.path.join(SEEDS, spec_id, "template.py"), encoding="utf-8") as handle:
            template = parse_template(handle.read())
        found.append((f"{spec_id}/template", spec_id, instantiate(template, template.default())))
    return found


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    pytest.importorskip("triton")
    runtime = Runtime(cache_dir=str(tmp_path_factory.mktemp("compile-cache")), capacities={"triton": 2})
    runtime.sandbox.start()
    try:
        def evaluate(item):
            label, spec_id, source = item
            spec = SPECS[spec_id]
            smallest = next(iter(spec["sizes"]))
            # The generated ragged size comes from the largest size, minutes under Triton's CPU interpreter: here a
            # ragged size next to the smallest one (extents of 8 or more moved off every multiple of 2), checked too.
            ragged = {name: ragged_value(value + 8) if value >= 8 else value for name, value in spec["sizes"][smallest].items()}
            options = parse_options({"sizes": [smallest], "trials": 2, "timeLimitSeconds": 120, "minTimeMs": 5, "maxRepetitions": 50})
            return label, runtime.evaluate({**spec, "raggedSize": ragged}, "triton", {"language": "triton", "source": source, "compileFlags": []}, options)

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            yield dict(pool.map(evaluate, sources()))
    finally:
        runtime.close()


def test_every_spec_that_targets_triton_has_a_baseline_and_a_template():
    assert len(TRITON_SPECS) == 13
    for spec_id in TRITON_SPECS:
        assert os.path.isfile(os.path.join(SEEDS, spec_id, "baseline.py")), spec_id
        template = parse_template(open(os.path.join(SEEDS, spec_id, "template.py"), encoding="utf-8").read())
        assert template.size() > 1 and template.allows(template.default()), spec_id


@pytest.mark.parametrize("label", [label for label, _, _ in sources()])
def test_seed_passes_correctness(results, label):
    result = results[label]
    assert result["status"] == "passed", f"{label}: {result.get('reason')}: {result['message']}\n{result['log'][-2000:]}"
    assert [trial["size"] for trial in result["trials"]][-2:] == ["ragged", "ragged"]
    assert len(result["trials"]) == 4 and all(trial["passed"] for trial in result["trials"])
    if not cuda_device_present():
        assert "timing-skipped" in result["flags"] and "timing skipped" in result["message"]
        assert result["timings"] == [] and "speedup" not in result
    else:
        assert result["timings"] and result["speedup"] > 0
