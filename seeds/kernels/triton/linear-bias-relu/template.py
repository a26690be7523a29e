# kernelevolve:template
# param BLOCK_M: 64, 32, 128
# param BLOCK_N: 64, 32, 128
# param BLOCK_K: 32, 16, 64
# param NUM_WARPS: 4, 8
# param NUM_STAGES: 3, 2, 4
# param GROUP_M: 8, 1, 4
# constraint: BLOCK_M * BLOCK_N <= 16384 and (BLOCK_M + BLOCK_N) * BLOCK_K <= 8192
"""relu(x @ weight^T + bias): pipelined fp32 (ieee) tiles, grouped tile order for L2 reuse, bias and ReLU in the epilogue."""
import triton
import triton.language as tl


@triton.jit
def _linear_relu(x_pointer, weight_pointer, bias_pointer, y_pointer, M, K, N,
                 BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP_M: tl.constexpr):
    # Neighbouring programs share rows of x and columns of the weight while both sit in L2.
    program = tl.program_id(0)
    tiles_m = tl.cdiv(M, BLOCK_M)
    tiles_n = tl.cdiv(N, BLOCK_N)
    group = program // (GROUP_M * tiles_n)
    first_m = group * GROUP_M
    group_size = min(tiles_m - first_m, GROUP_M)
    tile_m = first_m + (program % (GROUP_M * tiles_n)) % group_size
    tile_n = (program % (GROUP_M * tiles_n)) // group_size
    rows = tile_m * BLOCK_M + tl.arange(0, BLOCK_M)
    columns = tile_n * BLOCK_N + tl.arange(0, BLOCK_N)
    accumulator = tl.zeros([BLOCK_M, BLOCK_N], dtype=tl.float32)
    for start in range(0, K, BLOCK_K):
        depth = start + tl.arange(0, BLOCK_K)
        a = tl.load(x_pointer + rows[:, None] * K + depth[None, :], mask=(rows[:, None] < M) & (depth[None, :] < K), other=0.0)
        b = tl.load(weight_pointer + columns[None, :] * K + depth[:, None], mask=(columns[None, :] < N) & (depth[:, None] < K), other=0.0)
        accumulator = tl.dot(a, b, accumulator, input_precision="ieee")
    bias = tl.load(bias_pointer + columns, mask=columns < N, other=0.0)
    result = tl.maximum(accumulator + bias[None, :], 0.0)
    tl.store(y_pointer + rows[:, None] * N + columns[None, :], result, mask=(rows[:, None] < M) & (columns[None, :] < N))


def kernel(x, weight, bias, y, M, K, N):
    grid = (triton.cdiv(M, {{BLOCK_M}}) * triton.cdiv(N, {{BLOCK_N}}),)
    _linear_relu[grid](x, weight, bias, y, M, K, N, BLOCK_M={{BLOCK_M}}, BLOCK_N={{BLOCK_N}}, BLOCK_K={{BLOCK_K}}, GROUP_M={{GROUP_M}},
                       num_warps={{NUM_WARPS}}, num_stages={{NUM_STAGES}})
