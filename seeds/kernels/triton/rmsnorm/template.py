# kernelevolve:template
# param ROWS: 2, 1, 4, 8
# param NUM_WARPS: 4, 8, 16
# constraint: ROWS * NUM_WARPS <= 64
"""RMSNorm: ROWS whole rows per program; the weight is loaded once per program and reused for every row."""
import triton
import triton.language as tl


@triton.jit
def _rmsnorm(x_pointer, weight_pointer, y_pointer, R, D, eps, ROWS: tl.constexpr, BLOCK: tl.constexpr):
    rows = tl.program_id(0).to(tl.int64) * ROWS + tl.arange(0, ROWS)
    columns = tl.arange(0, BLOCK)
    mask = (rows[:, None] < R) & (columns[None, :] < D)
    offsets = rows[:, None] * D + columns[None, :]
    x = tl.load(x_pointer + offsets, mask=mask, other=0.0, eviction_policy="evict_first")
    weight = tl.load(weight_pointer + columns, mask=columns < D, other=0.0)
    scale = 1.0 / tl.sqrt(tl.sum(x * x, axis=1) / D + eps)
    tl.store(y_pointer + offsets, x * scale[:, None] * weight[None, :], mask=mask)


def kernel(x, weight, y, R, D, eps):
    _rmsnorm[(triton.cdiv(R, {{ROWS}}),)](x, weight, y, R, D, eps, ROWS={{ROWS}}, BLOCK=triton.next_power_of_2(D), num_warps={{NUM_WARPS}})
