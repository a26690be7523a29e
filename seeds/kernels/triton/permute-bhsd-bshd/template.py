# kernelevolve:template
# param BLOCK_S: 32, 8, 16, 64
# param NUM_WARPS: 4, 2, 8
"""[B, H, S, D] -> [B, S, H, D]: a BLOCK_S x D tile per program, read contiguously, written as BLOCK_S rows of D at stride H*D."""
import triton
import triton.language as tl


@triton.jit
def _permute(x_pointer, y_pointer, H, S, D, BLOCK_S: tl.constexpr, BLOCK_D: tl.constexpr):
    plane = tl.program_id(0).to(tl.int64)
    h = plane % H
    b = plane // H
    s = tl.program_id(1) * BLOCK_S + tl.arange(0, BLOCK_S)
    columns = tl.arange(0, BLOCK_D)
    mask = (s[:, None] < S) & (columns[None, :] < D)
    values = tl.load(x_pointer + (plane * S + s[:, None]) * D + columns[None, :], mask=mask, eviction_policy="evict_first")
    tl.store(y_pointer + ((b * S + s[:, None]) * H + h) * D + columns[None, :], values, mask=mask)


def kernel(x, y, B, H, S, D):
    _permute[(B * H, triton.cdiv(S, {{BLOCK_S}}))](x, y, H, S, D, BLOCK_S={{BLOCK_S}}, BLOCK_D=triton.next_power_of_2(D), num_warps={{NUM_WARPS}})
