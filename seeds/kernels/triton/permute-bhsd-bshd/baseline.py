"""[B, H, S, D] -> [B, S, H, D]: one program per source row (b, h, s) copies its D values to (b, s, h)."""
import triton
import triton.language as tl


@triton.jit
def _permute(x_pointer, y_pointer, H, S, D, BLOCK_D: tl.constexpr):
    source_row = tl.program_id(0).to(tl.int64)
    s = source_row % S
    h = (source_row // S) % H
    b = source_row // (S * H)
    columns = tl.arange(0, BLOCK_D)
    mask = columns < D
    values = tl.load(x_pointer + source_row * D + columns, mask=mask)
    tl.store(y_pointer + ((b * S + s) * H + h) * D + columns, values, mask=mask)


def kernel(x, y, B, H, S, D):
    _permute[(B * H * S,)](x, y, H, S, D, BLOCK_D=triton.next_power_of_2(D))
