"""Exact GELU, elementwise: one program per block of the flattened matrix."""
import triton
import triton.language as tl


@triton.jit
def _gelu(x_pointer, y_pointer, count, BLOCK: tl.constexpr):
    offsets = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < count
    x = tl.load(x_pointer + offsets, mask=mask)
    y = 0.5 * x * (1.0 + tl.math.erf(x * 0.7071067811865476))
    tl.store(y_pointer + offsets, y, mask=mask)


def kernel(x, y, R, C):
    count = R * C
    _gelu[(triton.cdiv(count, 1024),)](x, y, count, BLOCK=1024)
