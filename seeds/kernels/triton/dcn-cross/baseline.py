"""DCN cross layer x0 * (x @ weight^T + bias) + x: output tiles with fp32 (ieee) products and the whole epilogue fused."""
import triton
import triton.language as tl


@triton.jit
def _cross(x0_pointer, x_pointer, weight_pointer, bias_pointer, out_pointer, B, D,
           BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    columns = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
    accumulator = tl.zeros([BLOCK_M, BLOCK_N], dtype=tl.float32)
    for start in range(0, D, BLOCK_K):
        depth = start + tl.arange(0, BLOCK_K)
        a = tl.load(x_pointer + rows[:, None] * D + depth[None, :], mask=(rows[:, None] < B) & (depth[None, :] < D), other=0.0)
        b = tl.load(weight_pointer + columns[None, :] * D + depth[:, None], mask=(columns[None, :] < D) & (depth[:, None] < D), other=0.0)
        accumulator = tl.dot(a, b, accumulator, input_precision="ieee")
    mask = (rows[:, None] < B) & (columns[None, :] < D)
    offsets = rows[:, None] * D + columns[None, :]
    bias = tl.load(bias_pointer + columns, mask=columns < D, other=0.0)
    x0 = tl.load(x0_pointer + offsets, mask=mask, other=0.0)
    x = tl.load(x_pointer + offsets, mask=mask, other=0.0)
    tl.store(out_pointer + offsets, x0 * (accumulator + bias[None, :]) + x, mask=mask)


def kernel(x0, x, weight, bias, out, B, D):
    _cross[(triton.cdiv(B, 32), triton.cdiv(D, 32))](x0, x, weight, bias, out, B, D, BLOCK_M=32, BLOCK_N=32, BLOCK_K=32)
