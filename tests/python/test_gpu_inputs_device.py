"""inputs.generate_inputs(..., device=...): inputs drawn where the kernel reads them (issue #13.1), host path unchanged.

The device path is exercised on the CPU (device='cpu' takes the torch-generator path too); with a CUDA device the same
checks run on it.
"""
import hashlib
import json
import os

import pytest
import torch

from kernelevolve_runtime.contract.spec_files import load_seed_specs
from kernelevolve_runtime.fitness.inputs import generate_inputs
from kernelevolve_runtime.kernelbench.importer import import_problem

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SPECS = load_seed_specs(os.path.join(ROOT, "seeds", "specs"))
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])

# sha256 (first 32 hex) of the host path's inputs at seed 7 and each spec's first size, as generated before the device
# path existed: device=None must keep producing exactly these bytes.
HOST_DIGESTS = {
    "layernorm": "0bd647f77b8b1a357f74aba6c885d033",
    "embedding-bag-sum": "ffb7cd38a4def2dcacc3c84ebc96bcb2",
    "bce-with-logits": "be07fb1a193d5f11808fcb844f612a12",
    "dlrm-interaction": "44ae9fff6046be049cd714d1caa069de",
    "linear-bias-relu": "a768bcee81f88db843f080b37a86172d",
}


def _digest(tensors):
    digest = hashlib.sha256()
    for tensor in tensors:
        digest.update(str(tensor.dtype).encode())
        digest.update(str(list(tensor.shape)).encode())
        digest.update(tensor.cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:32]


@pytest.mark.parametrize("spec_id", sorted(HOST_DIGESTS))
def test_the_host_path_is_bit_identical_to_before(spec_id):
    spec = SPECS[spec_id]
    size = next(iter(spec["sizes"]))
    assert _digest(generate_inputs(spec, size, 7)) == HOST_DIGESTS[spec_id]
    assert _digest(generate_inputs(spec, size, 7, device=None)) == HOST_DIGESTS[spec_id]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("spec_id", sorted(spec_id for spec_id in SPECS if SPECS[spec_id]["inputs"]))
def test_device_inputs_have_the_host_shapes_dtypes_and_are_seeded(spec_id, device):
    spec = SPECS[spec_id]
    size = next(iter(spec["sizes"]))
    host = generate_inputs(spec, size, 3)
    first = generate_inputs(spec, size, 3, device=device)
    again = generate_inputs(spec, size, 3, device=device)
    other = generate_inputs(spec, size, 4, device=device)
    assert [tensor.device.type for tensor in first] == [device] * len(host)
    assert [(tensor.dtype, tuple(tensor.shape)) for tensor in first] == [(tensor.dtype, tuple(tensor.shape)) for tensor in host]
    assert all(tensor.is_contiguous() for tensor in first)
    assert all(torch.equal(a, b) for a, b in zip(first, again)), "the same seed must give the same inputs"
    varying = [position for position, tensor in enumerate(host) if tensor.numel() > 8 and (spec["inputs"][position].get("init") or {}).get("kind") != "constant"]
    assert any(not torch.equal(first[position], other[position]) for position in varying), "another seed must change the inputs"


@pytest.mark.parametrize("device", DEVICES)
def test_offsets_are_the_host_values_and_keep_their_empty_segment(device):
    spec = SPECS["embedding-bag-sum"]
    size = next(iter(spec["sizes"]))
    position = next(index for index, tensor in enumerate(spec["inputs"]) if (tensor.get("init") or {}).get("kind") == "offsets")
    host = generate_inputs(spec, size, 11)[position]
    drawn = generate_inputs(spec, size, 11, device=device)[position]
    assert torch.equal(host, drawn.cpu())
    steps = torch.diff(drawn.cpu())
    assert bool((steps >= 0).all()) and bool((steps == 0).any())


def _spec_with(inputs, sizes=None):
    return {"id": "t", "sizes": sizes or {"s": {"N": 200_000}}, "dimensions": ["N"], "inputs": inputs, "outputs": [], "scalars": {}}


@pytest.mark.parametrize("device", DEVICES)
def test_device_distributions_follow_the_init_rules(device):
    spec = _spec_with([
        {"name": "a", "dtype": "float32", "shape": ["N"], "init": {"kind": "normal", "mean": 2.0, "std": 0.5}},
        {"name": "b", "dtype": "float32", "shape": ["N"], "init": {"kind": "uniform", "low": -3.0, "high": -1.0}},
        {"name": "c", "dtype": "int32", "shape": ["N"], "init": {"kind": "integers", "low": 5, "high": "N"}},
        {"name": "d", "dtype": "bool", "shape": ["N"], "init": {"kind": "binary", "probability": 0.25}},
        {"name": "e", "dtype": "bfloat16", "shape": ["N"], "init": {"kind": "constant", "value": 1.5}},
        {"name": "f", "dtype": "float64", "shape": ["N"]},
    ])
    a, b, c, d, e, f = [tensor.cpu() for tensor in generate_inputs(spec, "s", 0, device=device)]
    assert abs(a.mean().item() - 2.0) < 0.01 and abs(a.std().item() - 0.5) < 0.01
    assert b.min().item() >= -3.0 and b.max().item() <= -1.0 and abs(b.mean().item() + 2.0) < 0.01
    assert c.dtype == torch.int32 and c.min().item() >= 5 and c.max().item() < 200_000
    assert d.dtype == torch.bool and abs(d.float().mean().item() - 0.25) < 0.01
    assert e.dtype == torch.bfloat16 and bool((e == 1.5).all())
    assert f.dtype == torch.float64 and abs(f.mean().item()) < 0.01 and abs(f.std().item() - 1.0) < 0.01


def test_bad_integer_ranges_are_refused_on_the_device_path_too():
    spec = _spec_with([{"name": "c", "dtype": "int64", "shape": ["N"], "init": {"kind": "integers", "low": 4, "high": 4}}])
    with pytest.raises(ValueError, match="high > low"):
        generate_inputs(spec, "s", 0, device="cpu")


def _relu_spec(tmp_path):
    with open(os.path.join(ROOT, "scripts", "gpu", "kernelbench", "19_ReLU.py"), encoding="utf-8") as handle:
        source = handle.read().replace("batch_size = 4096", "batch_size = 16").replace("dim = 393216", "dim = 4096")
    problem = tmp_path / "19_ReLU.py"
    problem.write_text(source)
    return import_problem(str(problem), level=1, scale="none")


def test_kernelbench_inputs_on_the_cpu_device_equal_the_host_path(tmp_path):
    spec = _relu_spec(tmp_path)
    host = generate_inputs(spec, "bench", 5)
    drawn = generate_inputs(spec, "bench", 5, device="cpu")
    assert len(host) == len(drawn) == 1 and torch.equal(host[0], drawn[0])
    assert not torch.equal(host[0], generate_inputs(spec, "bench", 6, device="cpu")[0])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: the KernelBench device path is checked on GPU hosts")
def test_kernelbench_inputs_drawn_on_the_gpu_follow_get_inputs(tmp_path):
    spec = _relu_spec(tmp_path)
    before = torch.cuda.get_rng_state()
    first = generate_inputs(spec, "bench", 5, device="cuda")[0]
    assert first.device.type == "cuda" and first.shape == (16, 4096) and first.dtype == torch.float32
    assert torch.equal(first, generate_inputs(spec, "bench", 5, device="cuda")[0])
    assert 0.0 <= first.min().item() and first.max().item() < 1.0 and abs(first.mean().item() - 0.5) < 0.02
    assert torch.equal(before, torch.cuda.get_rng_state()), "the caller's CUDA generator must be left as it was"
    json.dumps(spec)  # the spec stays plain data
