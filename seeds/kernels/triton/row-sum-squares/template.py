# kernelevolve:template
# param ROWS: 4, 1, 2, 8, 16
# param BLOCK_C: 1024, 256, 512, 2048
# param NUM_WARPS: 4, 2, 8
# constraint: ROWS * BLOCK_C <= 16384
"""Row sums of squares: a ROWS x BLOCK_C tile per step, partial sums in registers, one store per row."""
import triton
import triton.language as tl


@triton.jit
def _row_sum_squares(x_pointer, y_pointer, R, C, ROWS: tl.constexpr, BLOCK_C: tl.constexpr):
    rows = tl.program_id(0).to(tl.int64) * ROWS + tl.arange(0, ROWS)
    total = tl.zeros([ROWS, BLOCK_C], dtype=tl.float32)
    for start in range(0, C, BLOCK_C):
        columns = start + tl.arange(0, BLOCK_C)
        mask = (rows[:, None] < R) & (columns[None, :] < C)
        x = tl.load(x_pointer + rows[:, None] * C + columns[None, :], mask=mask, other=0.0, eviction_policy="evict_first")
        total += x * x
    tl.store(y_pointer + rows, tl.sum(total, axis=1), mask=rows < R)


def kernel(x, y, R, C):
    _row_sum_squares[(triton.cdiv(R, {{ROWS}}),)](x, y, R, C, ROWS={{ROWS}}, BLOCK_C={{BLOCK_C}}, num_warps={{NUM_WARPS}})
