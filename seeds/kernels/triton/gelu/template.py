# kernelevolve:template
# param BLOCK: 4096, 1024, 2048, 8192
# param NUM_WARPS: 8, 4, 16
# constraint: BLOCK // (32 * NUM_WARPS) >= 4
"""Exact GELU, elementwise over the flattened matrix: BLOCK elements per program (several 16-byte vectors per thread)."""
import triton
import triton.language as tl


@triton.jit
def _gelu(x_pointer, y_pointer, count, BLOCK: tl.constexpr):
    offsets = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < count
    x = tl.load(x_pointer + offsets, mask=mask, eviction_policy="evict_first")
    y = 0.5 * x * (1.0 + tl.math.erf(x * 0.7071067811865476))
    tl.store(y_pointer + offsets, y, mask=mask)


def kernel(x, y, R, C):
    count = R * C
    _gelu[(triton.cdiv(count, {{BLOCK}}),)](x, y, count, BLOCK={{BLOCK}}, num_warps={{NUM_WARPS}})
