"""gpu_bench's seed-correctness phase runs several evaluations at a time and keeps the seeds' order (issue #13: on the
H100 the sequential phase ran out of its 100 s after 20 of 26 Triton seeds). Without a GPU the Triton kernels run in
the interpreter, which is enough for a correctness-only phase."""
import os

import pytest

from kernelevolve_runtime.bench.gpu import Bench
from kernelevolve_runtime.contract.spec_files import load_seed_specs

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SPECS = load_seed_specs(os.path.join(ROOT, "seeds", "specs"))


def _bench(parallel):
    specs = {"gelu": SPECS["gelu"]}
    return Bench(specs, ["triton"], deadline=0, log=lambda text: None, parallel=parallel)


def test_parallel_correctness_covers_every_seed_in_order():
    pytest.importorskip("triton")
    bench = _bench(2)
    try:
        assert bench.runtime.capacity("triton") == 2
        results = bench.correctness(600)
    finally:
        bench.close()
    assert [entry["candidate"] for entry in results] == ["triton/gelu/baseline", "triton/gelu/template"]
    assert all(entry["status"] == "passed" for entry in results), results


def test_items_not_started_within_the_budget_are_skipped():
    bench = _bench(3)
    try:
        results = bench.correctness(-1)
    finally:
        bench.close()
    assert len(results) == 2 and {entry["status"] for entry in results} == {"skipped"}
