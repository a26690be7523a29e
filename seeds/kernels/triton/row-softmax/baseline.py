"""Row softmax: one program per row, the whole row in one block (max, exponentials, sum, scale)."""
import triton
import triton.language as tl


@triton.jit
def _softmax(x_pointer, y_pointer, C, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    columns = tl.arange(0, BLOCK)
    mask = columns < C
    x = tl.load(x_pointer + row * C + columns, mask=mask, other=-float("inf"))
    exponentials = tl.exp(x - tl.max(x, axis=0))
    tl.store(y_pointer + row * C + columns, exponentials / tl.sum(exponentials, axis=0), mask=mask)


def kernel(x, y, R, C):
    _softmax[(R,)](x, y, C, BLOCK=triton.next_power_of_2(C))
