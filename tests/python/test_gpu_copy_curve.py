"""The copy bandwidth at a spec's own traffic (issue #13): a 250 MB kernel is also compared with a 250 MB copy, not only
with the 2 GB copy of the hardware profile."""
import math
import os

import pytest

from kernelevolve_runtime.bench.gpu import with_gpu_size
from kernelevolve_runtime.bench.summary import copy_bandwidth_at, markdown, summarize
from kernelevolve_runtime.contract.spec_files import load_seed_specs
from kernelevolve_runtime.contract.shape_expression import evaluate_shape_expression

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SPECS = load_seed_specs(os.path.join(ROOT, "seeds", "specs"))
CURVE = [{"trafficBytes": 64 << 20, "GBs": 2000.0}, {"trafficBytes": 256 << 20, "GBs": 2600.0}, {"trafficBytes": 1 << 30, "GBs": 2900.0},
         {"trafficBytes": 4 << 30, "GBs": 3000.0}]


def test_interpolates_in_log_traffic_and_clamps():
    assert copy_bandwidth_at(CURVE, 256 << 20) == 2600.0
    assert copy_bandwidth_at(CURVE, 128 << 20) == pytest.approx(2300.0)  # halfway in log2 between 64 and 256 MiB
    middle = math.sqrt((256 << 20) * (1 << 30))
    assert copy_bandwidth_at(CURVE, middle) == pytest.approx(2750.0)
    assert copy_bandwidth_at(CURVE, 1) == 2000.0 and copy_bandwidth_at(CURVE, 1 << 40) == 3000.0
    assert copy_bandwidth_at(list(reversed(CURVE)), 256 << 20) == 2600.0
    assert copy_bandwidth_at([], 1 << 20) is None and copy_bandwidth_at(CURVE, 0) is None and copy_bandwidth_at(None, 5) is None


def _summary(profile):
    specs = {"gelu": with_gpu_size(SPECS["gelu"])}
    timing = {"size": "gpu", "speedup": 1.5, "achievedBandwidthGBs": 2300.0, "achievedTflops": None, "candidateMs": 1.0, "referenceMs": 1.5}
    autotune = [{"name": "cuda/gelu/template", "platform": "cuda", "spec": "gelu",
                 "results": [{"params": {"A": 1}, "status": "passed", "flags": [], "timings": [timing]}]}]
    return specs, summarize(specs, profile, [], autotune, [], 8.0)


def test_summary_adds_the_fraction_of_a_copy_of_the_same_traffic():
    specs, summary = _summary({"cuda": {"copyBandwidthGBs": 3000.0, "copyBandwidthCurve": CURVE}})
    row = summary["rows"][0]
    traffic = evaluate_shape_expression(specs["gelu"]["cost"]["bytes"], specs["gelu"]["sizes"]["gpu"])
    assert row["copyGBsAtTraffic"] == pytest.approx(copy_bandwidth_at(CURVE, traffic))
    assert row["copyFractionAtTraffic"] == pytest.approx(2300.0 / row["copyGBsAtTraffic"])
    assert row["copyFraction"] == pytest.approx(2300.0 / 3000.0)  # the headline stays against the profile's copy
    assert summary["memoryBoundAt80PercentOfCopy"] == 0 and summary["memoryBoundAt80PercentOfMatchedCopy"] == 1
    text = markdown(summary, {"cuda": {"device": "H100"}})
    assert f"| {100 * row['copyFractionAtTraffic']:.0f}% |" in text and "1 of them against a copy of the same traffic" in text


def test_summary_without_a_curve_is_unchanged():
    _, summary = _summary({"cuda": {"copyBandwidthGBs": 3000.0}})
    assert "copyFractionAtTraffic" not in summary["rows"][0] and summary["memoryBoundAt80PercentOfMatchedCopy"] is None
    assert "same traffic)" not in markdown(summary, {"cuda": {"device": "H100"}})
