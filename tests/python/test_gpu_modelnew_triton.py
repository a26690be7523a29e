"""Issue #13.3: a KernelBench ModelNew whose kernels are @triton.jit is evaluated as a ModelNew, not as a launcher file.

The end-to-end case runs the standalone `python -m kernelevolve_runtime evaluate` path (cli.main) on the triton
platform; without a GPU the worker runs the kernel in Triton's CPU interpreter (TRITON_INTERPRET=1), correctness only.
"""
import json
import os

import pytest

from kernelevolve_runtime import cli
from kernelevolve_runtime.fitness.autotune import detect_language
from kernelevolve_runtime.kernelbench.importer import import_problem

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CANDIDATE = os.path.join(ROOT, "scripts", "gpu", "kernelbench", "relu_modelnew_triton.py")
PROBLEM = os.path.join(ROOT, "scripts", "gpu", "kernelbench", "19_ReLU.py")

LAUNCHER = """import triton
import triton.language as tl


@triton.jit
def _relu(x_ptr, y_ptr, n, BLOCK: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < n
    tl.store(y_ptr + offsets, tl.maximum(tl.load(x_ptr + offsets, mask=mask), 0.0), mask=mask)


def kernel(x, y, batch_size, dim):
    n = x.numel()
    _relu[(triton.cdiv(n, 256),)](x, y, n, BLOCK=256)
"""


def test_a_modelnew_with_triton_kernels_is_a_kernelbench_module():
    with open(CANDIDATE, encoding="utf-8") as handle:
        source = handle.read()
    assert "@triton.jit" in source
    assert detect_language("relu.py", source) == "python"


def test_launcher_files_and_plain_modules_keep_their_languages():
    assert detect_language("relu.py", LAUNCHER) == "triton"
    assert detect_language("m.py", "import torch\nclass ModelNew(torch.nn.Module):\n    pass\n") == "python"
    # A class merely named like ModelNew, or ModelNew mentioned in a comment, does not make a launcher a module.
    assert detect_language("k.py", LAUNCHER + "\n# returns what ModelNew would\nclass ModelNewer:\n    pass\n") == "triton"
    assert detect_language("k.cu", "class ModelNew") == "cuda"


def _small_relu_spec(tmp_path):
    with open(PROBLEM, encoding="utf-8") as handle:
        source = handle.read().replace("batch_size = 4096", "batch_size = 8").replace("dim = 393216", "dim = 1000")
    problem = tmp_path / "19_ReLU.py"
    problem.write_text(source)
    spec = import_problem(str(problem), level=1, scale="none")
    path = tmp_path / "relu.json"
    path.write_text(json.dumps(spec))
    return path


def test_standalone_evaluate_passes_the_triton_modelnew(tmp_path, monkeypatch):
    pytest.importorskip("triton")
    spec = _small_relu_spec(tmp_path)
    out = tmp_path / "results.json"
    code = cli.main(["evaluate", "--spec", str(spec), "--platform", "triton", "--candidates", CANDIDATE,
                     "--out", str(out), "--options", json.dumps({"trials": 2, "timeLimitSeconds": 120}),
                     "--cache-dir", str(tmp_path / "cache"), "--no-timing"])
    assert code == 0
    entry = json.loads(out.read_text())["results"][0]
    assert entry["language"] == "python"
    result = entry["result"]
    assert result["status"] == "passed", result
    assert result.get("reason") != "missing_entry"


def test_standalone_evaluate_catches_a_wrong_triton_modelnew(tmp_path):
    pytest.importorskip("triton")
    spec = _small_relu_spec(tmp_path)
    with open(CANDIDATE, encoding="utf-8") as handle:
        wrong = handle.read().replace("tl.maximum(x, 0.0)", "tl.maximum(x, 0.5)")
    candidate = tmp_path / "wrong_relu.py"
    candidate.write_text(wrong)
    out = tmp_path / "results.json"
    code = cli.main(["evaluate", "--spec", str(spec), "--platform", "triton", "--candidates", str(candidate),
                     "--out", str(out), "--options", json.dumps({"trials": 2, "timeLimitSeconds": 120}),
                     "--cache-dir", str(tmp_path / "cache"), "--no-timing"])
    assert code == 0
    result = json.loads(out.read_text())["results"][0]["result"]
    assert result["status"] == "failed" and result["stage"] == "correctness", result
