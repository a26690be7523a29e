"""device_reference: the reference-output cache for a run and the on-device fingerprint of outputs (issue #13 plan)."""
import pytest
import torch

from kernelevolve_runtime.gpu.device_reference import _BLOCK, ReferenceCache, default_budget_bytes, fingerprint, spec_key

SPEC = {"id": "relu", "reference": "def reference(x):\n    return x.relu()\n", "inputs": [{"name": "x", "dtype": "float32", "shape": ["N"]}],
        "outputs": [{"name": "y", "dtype": "float32", "shape": ["N"]}], "sizes": {"s": {"N": 8}, "l": {"N": 64}}, "scalars": {}}


def test_fingerprint_follows_bytes_dtype_and_shape():
    base = torch.arange(1000, dtype=torch.float32)
    assert fingerprint([base]) == fingerprint([base.clone()])
    changed = base.clone()
    changed[999] = -1.0
    assert fingerprint([changed]) != fingerprint([base])
    swapped = base.clone()
    swapped[[3, 4]] = swapped[[4, 3]]
    assert fingerprint([swapped]) != fingerprint([base]), "a permutation of the same values must change it"
    assert fingerprint([base.view(torch.int32)]) != fingerprint([base])
    assert fingerprint([base.reshape(10, 100)]) != fingerprint([base])
    assert fingerprint([base, base]) != fingerprint([base])


def test_fingerprint_sees_the_last_odd_byte_and_later_blocks():
    odd = torch.zeros(7, dtype=torch.uint8)
    other = odd.clone()
    other[6] = 1
    assert fingerprint([odd]) != fingerprint([other])
    large = torch.zeros(_BLOCK * 2 + 5, dtype=torch.int32)
    moved = large.clone()
    moved[_BLOCK + 3] = 1
    assert fingerprint([large]) != fingerprint([moved])
    # Two equal changes in different blocks are told apart (block index enters the digest).
    first, second = large.clone(), large.clone()
    first[2], second[_BLOCK + 2] = 5, 5
    assert fingerprint([first]) != fingerprint([second])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: the CPU/GPU agreement is checked on GPU hosts")
def test_fingerprint_is_the_same_on_the_gpu():
    values = torch.randn(_BLOCK + 123, dtype=torch.float32)
    assert fingerprint([values]) == fingerprint([values.cuda()])


def _counting_compute(calls):
    def compute(inputs):
        calls.append(1)
        x = inputs[0]
        return [x.relu()], [x.double().relu()]
    return compute


def test_cache_computes_each_spec_size_seed_once():
    calls = []
    cache = ReferenceCache(budget_bytes=1 << 20)
    x = torch.randn(64)
    first = cache.get(SPEC, "l", 3, [x], _counting_compute(calls))
    again = cache.get(SPEC, "l", 3, [x], _counting_compute(calls))
    assert len(calls) == 1 and again[0][0] is first[0][0] and (cache.hits, cache.misses) == (1, 1)
    cache.get(SPEC, "l", 4, [x], _counting_compute(calls))
    cache.get(SPEC, "s", 3, [x[:8]], _counting_compute(calls))
    changed = dict(SPEC, reference="def reference(x):\n    return x.abs()\n")
    assert spec_key(changed) != spec_key(SPEC)
    cache.get(changed, "l", 3, [x], _counting_compute(calls))
    assert len(calls) == 4


def test_cache_evicts_least_recently_used_within_the_budget():
    calls = []
    x = torch.randn(64)  # one entry: 64 * 4 + 64 * 8 = 768 bytes
    cache = ReferenceCache(budget_bytes=2 * 768)
    cache.get(SPEC, "l", 1, [x], _counting_compute(calls))
    cache.get(SPEC, "l", 2, [x], _counting_compute(calls))
    cache.get(SPEC, "l", 1, [x], _counting_compute(calls))  # hit: seed 1 becomes the most recent
    cache.get(SPEC, "l", 3, [x], _counting_compute(calls))  # evicts seed 2
    assert cache.bytes <= cache.budget_bytes and len(cache.entries) == 2
    cache.get(SPEC, "l", 1, [x], _counting_compute(calls))
    assert len(calls) == 3
    cache.get(SPEC, "l", 2, [x], _counting_compute(calls))
    assert len(calls) == 4


def test_entries_larger_than_the_budget_are_computed_but_not_kept():
    calls = []
    cache = ReferenceCache(budget_bytes=0)
    cache.get(SPEC, "l", 1, [torch.randn(64)], _counting_compute(calls))
    cache.get(SPEC, "l", 1, [torch.randn(64)], _counting_compute(calls))
    assert len(calls) == 2 and cache.bytes == 0
    with pytest.raises(ValueError):
        ReferenceCache(budget_bytes=-1)
    assert default_budget_bytes("cpu") == 1 << 30
