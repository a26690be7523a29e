# kernelevolve:template
# param CHUNK: 8, 4, 16, 32
# param NUM_WARPS: 4, 1, 2, 8
"""EmbeddingBag (sum): one program per bag gathers CHUNK rows at a time (many independent loads in flight) and adds them."""
import triton
import triton.language as tl


@triton.jit
def _bag_sum(weight_pointer, indices_pointer, offsets_pointer, out_pointer, D, CHUNK: tl.constexpr, BLOCK_D: tl.constexpr):
    bag = tl.program_id(0).to(tl.int64)
    start = tl.load(offsets_pointer + bag)
    end = tl.load(offsets_pointer + bag + 1)
    columns = tl.arange(0, BLOCK_D)
    total = tl.zeros([CHUNK, BLOCK_D], dtype=tl.float32)
    for first in range(start, end, CHUNK):
        positions = first + tl.arange(0, CHUNK)
        inside = positions < end
        rows = tl.load(indices_pointer + positions, mask=inside, other=0)
        mask = inside[:, None] & (columns[None, :] < D)
        total += tl.load(weight_pointer + rows[:, None] * D + columns[None, :], mask=mask, other=0.0)
    tl.store(out_pointer + bag * D + columns, tl.sum(total, axis=0), mask=columns < D)


def kernel(weight, indices, offsets, out, V, D, N, B):
    _bag_sum[(B,)](weight, indices, offsets, out, D, CHUNK={{CHUNK}}, BLOCK_D=triton.next_power_of_2(D), num_warps={{NUM_WARPS}})
