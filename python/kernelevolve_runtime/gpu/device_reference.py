"""Trusted-side helpers for a fitness function whose data stays on the GPU (docs/decisions/2026-12-07-gpu-fitness.md):

- ReferenceCache: the reference's outputs (declared dtype and float64) per (spec, size, trial seed), computed once on the
  inputs' device and kept for the run within a byte budget (least recently used first out), so the candidates of a run,
  which meet the same seeds, do not each recompute them. Entries are the runtime's own tensors: never hand them to a worker.
- fingerprint(tensors): a digest of tensors' bytes computed where they live (the host-only output_digest copies them to
  the host, 6.4 GB per output at KernelBench's full sizes); equal bytes give equal fingerprints on any device.
"""
import collections
import hashlib
import json
import threading

import torch

# Weights of the fingerprint's first stage: one block of int64 factors from a fixed seed, reused for every block.
_BLOCK = 1 << 20
_WEIGHTS = {}
_WEIGHTS_LOCK = threading.Lock()
_MODULUS = (1 << 61) - 1


def _weights(device):
    key = str(device)
    with _WEIGHTS_LOCK:
        weights = _WEIGHTS.get(key)
        if weights is None:
            generator = torch.Generator(device="cpu")
            generator.manual_seed(0x6B65_7665_6F6C)
            # Odd 31-bit factors: every byte pattern moves the sum; products of int32 values fit in int64.
            weights = (torch.randint(0, 1 << 30, (_BLOCK,), generator=generator, dtype=torch.int64) * 2 + 1).to(device)
            _WEIGHTS[key] = weights
        return weights


def _tensor_fingerprint(tensor):
    """(dtype, shape, two int64 sums) of one tensor, reduced on its device in blocks of _BLOCK int32 words."""
    flat = tensor.detach().contiguous().reshape(-1).view(torch.uint8)
    padding = (-flat.numel()) % 4
    if padding:
        flat = torch.cat([flat, torch.zeros(padding, dtype=torch.uint8, device=flat.device)])
    words = flat.view(torch.int32)
    weights = _weights(words.device)
    weighted, plain = [], []
    for start in range(0, words.numel(), _BLOCK):
        block = words[start:start + _BLOCK].to(torch.int64)
        # int64 sums wrap modulo 2**64, which is order-independent: CPU and GPU reductions agree bit for bit.
        weighted.append((block * weights[:block.numel()]).sum())
        plain.append(block.sum())
    first, second = 0, 0
    if weighted:
        pairs = torch.stack([torch.stack(weighted), torch.stack(plain)]).cpu().tolist()
        for block_index, (weighted_sum, plain_sum) in enumerate(zip(*pairs)):
            first = (first * 1_000_003 + weighted_sum % _MODULUS + block_index) % _MODULUS
            second = (second * 998_244_353 + plain_sum % _MODULUS) % _MODULUS
    return f"{tensor.dtype}|{tuple(tensor.shape)}|{first:x}|{second:x}"


def fingerprint(tensors):
    """A hex digest of the tensors' dtypes, shapes and bytes, computed on their devices."""
    digest = hashlib.sha256()
    for tensor in tensors:
        digest.update(_tensor_fingerprint(tensor).encode("utf-8"))
    return digest.hexdigest()


def spec_key(spec):
    """What makes two specs' reference outputs interchangeable: reference source, inputs, outputs, sizes and scalars."""
    fields = {name: spec.get(name) for name in ("id", "reference", "inputs", "outputs", "sizes", "scalars", "kernelbench")}
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def default_budget_bytes(device):
    """A quarter of the device's free memory for CUDA devices; 1 GiB elsewhere."""
    device = torch.device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return free // 4
    return 1 << 30


def _nbytes(tensors):
    return sum(tensor.numel() * tensor.element_size() for tensor in tensors or [] if isinstance(tensor, torch.Tensor))


class ReferenceCache:
    """Reference outputs per (spec, size, seed); compute(inputs) -> (native list, float64 list or None) fills a miss."""

    def __init__(self, budget_bytes):
        if budget_bytes < 0:
            raise ValueError(f"budget_bytes must be >= 0, got {budget_bytes}")
        self.budget_bytes = int(budget_bytes)
        self.entries = collections.OrderedDict()
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self.lock = threading.Lock()

    def get(self, spec, size, seed, inputs, compute):
        """The cached pair for (spec, size, seed), else compute(inputs), kept when it fits the budget."""
        key = (spec_key(spec), size, int(seed))
        with self.lock:
            entry = self.entries.get(key)
            if entry is not None:
                self.entries.move_to_end(key)
                self.hits += 1
                return entry
            self.misses += 1
        native, precise = compute(inputs)
        size_bytes = _nbytes(native) + _nbytes(precise)
        if size_bytes <= self.budget_bytes:
            with self.lock:
                if key not in self.entries:
                    self.entries[key] = (native, precise)
                    self.bytes += size_bytes
                while self.bytes > self.budget_bytes and self.entries:
                    _, (old_native, old_precise) = self.entries.popitem(last=False)
                    self.bytes -= _nbytes(old_native) + _nbytes(old_precise)
        return native, precise

    def clear(self):
        with self.lock:
            self.entries.clear()
            self.bytes = 0
