# kernelevolve:template
# param ROWS: 2, 1, 4, 8
# param NUM_WARPS: 4, 8, 16
# constraint: ROWS * NUM_WARPS <= 64
"""LayerNorm: ROWS whole rows per program (two-pass mean and variance in registers); weight and bias loaded once."""
import triton
import triton.language as tl


@triton.jit
def _layernorm(x_pointer, weight_pointer, bias_pointer, y_pointer, R, D, eps, ROWS: tl.constexpr, BLOCK: tl.constexpr):
    rows = tl.program_id(0).to(tl.int64) * ROWS + tl.arange(0, ROWS)
    columns = tl.arange(0, BLOCK)
    mask = (rows[:, None] < R) & (columns[None, :] < D)
    offsets = rows[:, None] * D + columns[None, :]
    x = tl.load(x_pointer + offsets, mask=mask, other=0.0, eviction_policy="evict_first")
    mean = tl.sum(x, axis=1) / D
    centred = tl.where(mask, x - mean[:, None], 0.0)
    inverse = 1.0 / tl.sqrt(tl.sum(centred * centred, axis=1) / D + eps)
    weight = tl.load(weight_pointer + columns, mask=columns < D, other=0.0)
    bias = tl.load(bias_pointer + columns, mask=columns < D, other=0.0)
    tl.store(y_pointer + offsets, centred * inverse[:, None] * weight[None, :] + bias[None, :], mask=mask)


def kernel(x, weight, bias, y, R, D, eps):
    _layernorm[(triton.cdiv(R, {{ROWS}}),)](x, weight, bias, y, R, D, eps, ROWS={{ROWS}}, BLOCK=triton.next_power_of_2(D),
                                           num_warps={{NUM_WARPS}})
