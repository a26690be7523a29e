"""relu(x @ weight^T + bias): tiles of the output, fp32 products (ieee), bias and ReLU fused into the epilogue."""
import triton
import triton.language as tl


@triton.jit
def _linear_relu(x_pointer, weight_pointer, bias_pointer, y_pointer, M, K, N,
                 BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr):
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    columns = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)
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
    _linear_relu[(triton.cdiv(M, 32), triton.cdiv(N, 32))](x, weight, bias, y, M, K, N, BLOCK_M=32, BLOCK_N=32, BLOCK_K=32)
