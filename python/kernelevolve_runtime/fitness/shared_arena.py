"""Buffers the trusted runtime owns and a worker maps: input sets, output sets, canaries, read-back.

One file per worker in its private folder (tmpfs under /dev/shm where there is one). The runtime never
maps it: it writes and reads with pwrite/pread on its own descriptor, so a worker that truncates or
replaces the file can make a read come back short (a failure) but cannot fault the runtime. The worker
maps it MAP_SHARED; call i of a block reads input set i mod S and writes output set i mod K.
"""
import math
import os

import numpy as np
import torch

from .inputs import TORCH_DTYPES, output_shapes
from ..contract.spec import resolve_shape

ALIGNMENT = 64
CANARY_CHUNK = 1 << 20
MEGABYTE = 1 << 20


class ArenaError(Exception):
    """The shared buffers could not be read back whole (the worker shrank or replaced the file)."""


def _align(value):
    return (value + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


def _element_size(dtype):
    return torch.empty(0, dtype=TORCH_DTYPES[dtype]).element_size()


def _packing(shapes, dtypes):
    positions, sizes, at = [], [], 0
    for shape, dtype in zip(shapes, dtypes):
        size = math.prod(shape) * _element_size(dtype) if shape else _element_size(dtype)
        positions.append(at)
        sizes.append(size)
        at = _align(at + max(size, 1))
    return positions, sizes, max(at, ALIGNMENT)


class SetShape:
    """Where each input and output of one size sits inside one input set and one output set."""

    def __init__(self, spec, size):
        dimensions = spec["sizes"][size]
        self.size = size
        self.size_index = list(spec["sizes"]).index(size)
        self.input_shapes = [resolve_shape(tensor["shape"], dimensions) for tensor in spec["inputs"]]
        self.input_dtypes = [tensor["dtype"] for tensor in spec["inputs"]]
        self.output_shapes = output_shapes(spec, size)
        self.output_dtypes = [tensor["dtype"] for tensor in spec["outputs"]]
        self.input_positions, self.input_sizes, self.input_stride = _packing(self.input_shapes, self.input_dtypes)
        self.output_positions, self.output_sizes, self.output_stride = _packing(self.output_shapes, self.output_dtypes)
        self.dimensions = [int(dimensions[name]) for name in spec["dimensions"]]
        self.scalars = [float(value) for value in spec["scalars"].values()]

    def most_sets(self, input_budget, output_budget):
        """(input sets, output sets) that fit the budgets, at least one of each."""
        return max(1, input_budget // self.input_stride), max(1, output_budget // self.output_stride)


class Layout:
    """S input sets then K output sets of one size, at fixed offsets in the arena."""

    def __init__(self, shape, input_sets, output_sets):
        self.shape = shape
        self.input_sets = int(input_sets)
        self.output_sets = int(output_sets)
        self.input_base = 0
        self.output_base = _align(self.input_sets * shape.input_stride)
        self.bytes = self.output_base + self.output_sets * shape.output_stride

    def command(self):
        """The `L` line both worker kinds read."""
        shape = self.shape
        numbers = [shape.size_index, self.input_sets, self.output_sets, self.input_base, shape.input_stride, self.output_base, shape.output_stride,
                   *shape.input_positions, *shape.output_positions, *shape.dimensions]
        return "L " + " ".join(str(int(number)) for number in numbers) + "".join(f" {value!r}" for value in shape.scalars)


def arena_capacity(spec, sizes, input_budget, output_budget):
    """Bytes that hold the largest layout any of the sizes may use under the budgets."""
    largest = 0
    for size in sizes:
        shape = SetShape(spec, size)
        input_sets, output_sets = shape.most_sets(input_budget, output_budget)
        largest = max(largest, Layout(shape, input_sets, output_sets).bytes)
    return largest


def fresh_generator():
    """A numpy generator seeded from the OS: nothing the candidate can predict."""
    return np.random.default_rng(int.from_bytes(os.urandom(16), "little"))


def _tensor_bytes(tensor):
    return tensor.detach().contiguous().reshape(-1).view(torch.uint8).numpy()


class Arena:
    """The runtime's side of one worker's shared file."""

    def __init__(self, directory, capacity, name="arena.bin"):
        self.name = name
        self.path = os.path.join(directory, name)
        self.capacity = int(max(capacity, ALIGNMENT))
        self.descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        os.ftruncate(self.descriptor, self.capacity)
        self.canary = None
        self.written_inputs = None

    def _write(self, offset, data):
        view = memoryview(np.ascontiguousarray(data)).cast("B")
        while view.nbytes:
            written = os.pwrite(self.descriptor, view, offset)
            view, offset = view[written:], offset + written

    def _read(self, offset, length):
        buffer = np.empty(length, dtype=np.uint8)
        got = os.preadv(self.descriptor, [buffer], offset) if length else 0
        if got != length:
            raise ArenaError(f"the shared buffers came back short ({got} of {length} bytes): the worker shrank or replaced them")
        return buffer

    def write_inputs(self, layout, input_sets):
        """Writes stacked inputs ([S, *shape] per input) into the S input sets and keeps the bytes to compare after the calls."""
        shape = layout.shape
        region = np.zeros((layout.input_sets, shape.input_stride), dtype=np.uint8)
        for position, stacked in enumerate(input_sets):
            start = shape.input_positions[position]
            region[:, start:start + shape.input_sizes[position]] = _tensor_bytes(stacked).reshape(layout.input_sets, -1)
        self._write(layout.input_base, region)
        self.written_inputs = region

    def fill_canary(self, layout, generator, sets=None):
        """Fills output sets (all, or the first `sets`) with fresh random bytes; returns them (the canary)."""
        count = layout.output_sets if sets is None else sets
        total = count * layout.shape.output_stride
        # Up to 1 MiB of fresh random bytes, repeated: unpredictable per round, and cheap for large output sets.
        chunk = np.frombuffer(generator.bytes(min(total, CANARY_CHUNK)), dtype=np.uint8)
        canary = np.resize(chunk, total).reshape(count, -1)
        self._write(layout.output_base, canary)
        self.canary = canary
        return canary

    def read_outputs(self, layout, sets=None):
        """The output sets as stacked tensors ([sets, *shape] per output), copied out of the file."""
        shape = layout.shape
        count = layout.output_sets if sets is None else sets
        region = self._read(layout.output_base, count * shape.output_stride).reshape(count, -1)
        outputs = []
        for position, (tensor_shape, dtype) in enumerate(zip(shape.output_shapes, shape.output_dtypes)):
            start = shape.output_positions[position]
            raw = np.ascontiguousarray(region[:, start:start + shape.output_sizes[position]])
            outputs.append(torch.from_numpy(raw).view(TORCH_DTYPES[dtype]).reshape(count, *tensor_shape))
        return outputs

    def unwritten(self, layout, position, sets=None):
        """A bool tensor [sets, *shape]: elements of one output still holding their canary's bit pattern."""
        shape = layout.shape
        count = layout.output_sets if sets is None else sets
        start, size = shape.output_positions[position], shape.output_sizes[position]
        dtype = TORCH_DTYPES[shape.output_dtypes[position]]
        width = torch.empty(0, dtype=dtype).element_size()
        integer = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}[width]
        region = self._read(layout.output_base, count * shape.output_stride).reshape(count, -1)
        actual = torch.from_numpy(np.ascontiguousarray(region[:, start:start + size])).view(integer)
        canary = torch.from_numpy(self.canary[:count, start:start + size].copy()).view(integer)
        return (actual == canary).reshape(count, *shape.output_shapes[position])

    def inputs_changed(self, layout):
        """Index of the first input the calls changed (compared byte for byte with what was written), or None."""
        shape = layout.shape
        after = self._read(layout.input_base, layout.input_sets * shape.input_stride).reshape(layout.input_sets, -1)
        for position in range(len(shape.input_sizes)):
            start = shape.input_positions[position]
            stop = start + shape.input_sizes[position]
            if not np.array_equal(after[:, start:stop], self.written_inputs[:, start:stop]):
                return position
        return None

    def close(self):
        """Closes the runtime's descriptor (the folder's removal deletes the file)."""
        if self.descriptor >= 0:
            os.close(self.descriptor)
            self.descriptor = -1
