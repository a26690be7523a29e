"""RMSNorm: one program per row; mean of squares, reciprocal square root, scale by the weight."""
import triton
import triton.language as tl


@triton.jit
def _rmsnorm(x_pointer, weight_pointer, y_pointer, D, eps, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    columns = tl.arange(0, BLOCK)
    mask = columns < D
    x = tl.load(x_pointer + row * D + columns, mask=mask, other=0.0)
    weight = tl.load(weight_pointer + columns, mask=mask, other=0.0)
    scale = 1.0 / tl.sqrt(tl.sum(x * x, axis=0) / D + eps)
    tl.store(y_pointer + row * D + columns, x * scale * weight, mask=mask)


def kernel(x, weight, y, R, D, eps):
    _rmsnorm[(R,)](x, weight, y, D, eps, BLOCK=triton.next_power_of_2(D))
