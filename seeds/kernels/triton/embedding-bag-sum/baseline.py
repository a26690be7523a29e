"""EmbeddingBag (sum): one program per bag, adding the bag's rows one index at a time."""
import triton
import triton.language as tl


@triton.jit
def _bag_sum(weight_pointer, indices_pointer, offsets_pointer, out_pointer, D, BLOCK_D: tl.constexpr):
    bag = tl.program_id(0).to(tl.int64)
    start = tl.load(offsets_pointer + bag)
    end = tl.load(offsets_pointer + bag + 1)
    columns = tl.arange(0, BLOCK_D)
    mask = columns < D
    total = tl.zeros([BLOCK_D], dtype=tl.float32)
    for position in range(start, end):
        row = tl.load(indices_pointer + position)
        total += tl.load(weight_pointer + row * D + columns, mask=mask, other=0.0)
    tl.store(out_pointer + bag * D + columns, total, mask=mask)


def kernel(weight, indices, offsets, out, V, D, N, B):
    _bag_sum[(B,)](weight, indices, offsets, out, D, BLOCK_D=triton.next_power_of_2(D))
