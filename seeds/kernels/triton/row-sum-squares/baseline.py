"""Sum of squares of each row: one program per row, looping over the row in blocks."""
import triton
import triton.language as tl


@triton.jit
def _row_sum_squares(x_pointer, y_pointer, C, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    total = tl.zeros([BLOCK], dtype=tl.float32)
    for start in range(0, C, BLOCK):
        columns = start + tl.arange(0, BLOCK)
        x = tl.load(x_pointer + row * C + columns, mask=columns < C, other=0.0)
        total += x * x
    tl.store(y_pointer + row, tl.sum(total, axis=0))


def kernel(x, y, R, C):
    _row_sum_squares[(R,)](x, y, C, BLOCK=256)
