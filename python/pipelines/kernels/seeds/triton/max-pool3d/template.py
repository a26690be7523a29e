# kernelevolve:template
# param BLOCK: 1024, 512, 2048, 4096
# param NUM_WARPS: 4, 8, 2
"""Stride-1 3D max pool, odd windows, 'same' padding (-inf): separable, one launch per axis (x, then y, then z), each
output the max of its window along that axis; the scratch volumes come from torch.empty (allowed in a launcher)."""
import torch
import triton
import triton.language as tl


@triton.jit
def _axis_max(source, target, total, length, stride, radius, BLOCK: tl.constexpr):
    index = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    live = index < total
    coordinate = (index // stride) % length
    best = tl.load(source + index, mask=live, other=float("-inf"))
    for step in range(1, radius + 1):
        below = live & (coordinate - step >= 0)
        above = live & (coordinate + step < length)
        best = tl.maximum(best, tl.load(source + index - step * stride, mask=below, other=float("-inf")))
        best = tl.maximum(best, tl.load(source + index + step * stride, mask=above, other=float("-inf")))
    tl.store(target + index, best, mask=live)


def kernel(x, pooled, B, C, Z, Y, X, KZ, KY, KX):
    total = B * C * Z * Y * X
    first, second = torch.empty_like(x), torch.empty_like(x)
    grid = (triton.cdiv(total, {{BLOCK}}),)
    _axis_max[grid](x, first, total, X, 1, int(KX) // 2, BLOCK={{BLOCK}}, num_warps={{NUM_WARPS}})
    _axis_max[grid](first, second, total, Y, X, int(KY) // 2, BLOCK={{BLOCK}}, num_warps={{NUM_WARPS}})
    _axis_max[grid](second, pooled, total, Z, Y * X, int(KZ) // 2, BLOCK={{BLOCK}}, num_warps={{NUM_WARPS}})
