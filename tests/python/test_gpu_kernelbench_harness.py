"""scripts/gpu/kernelbench_harness.py, the re-implementation of KernelBench's loop: its correctness part on the CPU (the
timing part needs CUDA events and runs in scripts/gpu/compare_kernelbench.sh)."""
import importlib.util
import os

import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
_spec = importlib.util.spec_from_file_location("kernelbench_harness", os.path.join(ROOT, "scripts", "gpu", "kernelbench_harness.py"))
harness = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(harness)

PROBLEM = open(os.path.join(ROOT, "scripts", "gpu", "kernelbench", "19_ReLU.py"), encoding="utf-8").read() \
    .replace("batch_size = 4096", "batch_size = 4").replace("dim = 393216", "dim = 100")


def _candidate(body):
    return "import torch\nimport torch.nn as nn\n\nclass ModelNew(nn.Module):\n    def forward(self, x):\n        " + body + "\n"


def _check(candidate_source, trials=5):
    Model, _, get_inputs = harness.load_problem(PROBLEM)
    ModelNew, path = harness.load_candidate(candidate_source)
    try:
        return harness.check_correctness(Model(), ModelNew(), get_inputs, trials, 42, torch.device("cpu"), torch.float32, 1e-2)
    finally:
        os.unlink(path)


def test_an_honest_candidate_passes_every_trial():
    passed, metadata, seconds = _check(_candidate("return torch.clamp(x, min=0.0)"))
    assert passed and metadata["correctness_trials"] == "(5 / 5)" and len(seconds) == 5


def test_a_wrong_candidate_fails_and_a_shape_mismatch_stops_the_loop():
    passed, metadata, _ = _check(_candidate("return x * 0.5"))
    assert not passed and metadata["correctness_issue"] == "Output mismatch" and len(metadata["max_difference"]) == 5
    passed, metadata, seconds = _check(_candidate("return x[:, :10].relu()"))
    assert not passed and "shape mismatch" in metadata["correctness_issue"] and seconds == []


def test_trials_draw_fresh_inputs_from_seeds_derived_from_the_base_seed():
    seen = []

    class Recorder(torch.nn.Module):
        def forward(self, x):
            seen.append(x.clone())
            return x.relu()

    Model, _, get_inputs = harness.load_problem(PROBLEM)
    passed, _, _ = harness.check_correctness(Model(), Recorder(), get_inputs, 3, 42, torch.device("cpu"), torch.float32, 1e-2)
    assert passed and len(seen) == 3 and not torch.equal(seen[0], seen[1])
    torch.manual_seed(42)
    first_seed = torch.randint(0, 2**32 - 1, (1,)).item()
    torch.manual_seed(first_seed)
    assert torch.equal(seen[0], torch.rand(4, 100))


def test_a_candidate_without_modelnew_is_reported():
    ModelNew, path = harness.load_candidate("x = 1\n")
    os.unlink(path)
    assert ModelNew is None
