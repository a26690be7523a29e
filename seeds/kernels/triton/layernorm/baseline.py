"""LayerNorm: one program per row; mean, variance of the centred row, then scale and shift."""
import triton
import triton.language as tl


@triton.jit
def _layernorm(x_pointer, weight_pointer, bias_pointer, y_pointer, D, eps, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    columns = tl.arange(0, BLOCK)
    mask = columns < D
    x = tl.load(x_pointer + row * D + columns, mask=mask, other=0.0)
    mean = tl.sum(x, axis=0) / D
    centred = tl.where(mask, x - mean, 0.0)
    inverse = 1.0 / tl.sqrt(tl.sum(centred * centred, axis=0) / D + eps)
    weight = tl.load(weight_pointer + columns, mask=mask, other=0.0)
    bias = tl.load(bias_pointer + columns, mask=mask, other=0.0)
    tl.store(y_pointer + row * D + columns, centred * inverse * weight + bias, mask=mask)


def kernel(x, weight, bias, y, R, D, eps):
    _layernorm[(R,)](x, weight, bias, y, D, eps, BLOCK=triton.next_power_of_2(D))
