# kernelevolve:template
# param BLOCK: 32, 16, 64, 128
# param NUM_WARPS: 1, 2, 4
"""Jagged repeat, out[offsets[i]:offsets[i+1]] = values[i]: one program per row fills its run in BLOCK-wide stores."""
import triton
import triton.language as tl


@triton.jit
def _fill(values, offsets, out, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    start = tl.load(offsets + row)
    stop = tl.load(offsets + row + 1)
    value = tl.load(values + row)
    for first in range(start, stop, BLOCK):
        index = first + tl.arange(0, BLOCK)
        tl.store(out + index, tl.zeros([BLOCK], dtype=tl.int64) + value, mask=index < stop)


def kernel(values, offsets, out, M, N):
    if M > 0:
        _fill[(M,)](values, offsets, out, BLOCK={{BLOCK}}, num_warps={{NUM_WARPS}})
