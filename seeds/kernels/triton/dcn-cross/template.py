# kernelevolve:template
# param BLOCK_M: 64, 32, 128
# param BLOCK_N: 64, 32, 128
# param BLOCK_K: 32, 16, 64
# param NUM_WARPS: 4, 8
# param NUM_STAGES: 3, 2, 4
# param GROUP_M: 8, 1, 4
# constraint: BLOCK_M * BLOCK_N <= 16384 and (BLOCK_M + BLOCK_N) * BLOCK_K <= 8192
"""DCN cross layer x0 * (x @ weight^T + bias) + x: pipelined fp32 (ieee) tiles in grouped order, the epilogue fused."""
import triton
import triton.language as tl


@triton.jit
def _cross(x0_pointer, x_pointer, weight_pointer, bias_pointer, out_pointer, B, D,
           BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP_M: tl.constexpr):
    program = tl.program_id(0)
    tiles_m = tl.cdiv(B, BLOCK_M)
    tiles_n = tl.cdiv(D, BLOCK_N)
    group = program // (GROUP_M * tiles_n)
    first_m = group * GROUP_M
    group_size = min(tiles_m - first_m, GROUP_M)
    tile_m = first_m + (program % (GROUP_M * tiles_n)) % group_size
    tile_n = (program % (GROUP_M * tiles_n)) // group_size
    rows = tile_m * BLOCK_M + tl.arange(0, BLOCK_M)
    columns = tile_n * BLOCK_N + tl.arange(0, BLOCK_N)
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
    grid = (triton.cdiv(B, {{BLOCK_M}}) * triton.cdiv(D, {{BLOCK_N}}),)
    _cross[grid](x0, x, weight, bias, out, B, D, BLOCK_M={{BLOCK_M}}, BLOCK_N={{BLOCK_N}}, BLOCK_K={{BLOCK_K}}, GROUP_M={{GROUP_M}},
                 num_warps={{NUM_WARPS}}, num_stages={{NUM_STAGES}})
