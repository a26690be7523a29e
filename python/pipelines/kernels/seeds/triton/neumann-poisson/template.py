# kernelevolve:template
# param NUM_WARPS: 4, 8, 2
# param MIN_BLOCK: 16, 32
"""Neumann-Laplacian solve of (M, H, W) float64 residual maps (the phase unwrap's preconditioner) by cosine transforms:
one program per map, four outer-product passes (DCT-II along y, along x, scale by the inverse eigenvalues and the
inverse-DCT weights, back along y, back along x); each pass accumulates an H x W tile from rows of the previous one,
kept in a per-map scratch buffer (torch.empty in the launcher). Cosines come from tl.cos of the indices."""
import torch
import triton
import triton.language as tl

PI = 3.141592653589793


@triton.jit
def _solve(residual, out, first, second, H, W, BH: tl.constexpr, BW: tl.constexpr):
    m = tl.program_id(0).to(tl.int64)
    rows = tl.arange(0, BH)
    cols = tl.arange(0, BW)
    live = (rows[:, None] < H) & (cols[None, :] < W)
    tile = rows[:, None] * W + cols[None, :]
    base = m * H * W
    hf = H.to(tl.float64)
    wf = W.to(tl.float64)
    k = rows.to(tl.float64)
    l = cols.to(tl.float64)
    # first[k, x] = sum_n cos(pi k (2n+1) / 2H) r[n, x]
    acc = tl.zeros([BH, BW], dtype=tl.float64)
    for i in range(0, H):
        row = tl.load(residual + base + i * W + cols, mask=cols < W, other=0.0)
        c = tl.cos(PI * k * (2 * i + 1) / (2 * hf))
        acc += c[:, None] * row[None, :]
    tl.store(first + base + tile, acc, mask=live)
    tl.debug_barrier()
    # second[k, l] = sum_x first[k, x] cos(pi l (2x+1) / 2W), scaled by 1/eigen and the inverse-DCT weights
    acc = tl.zeros([BH, BW], dtype=tl.float64)
    for j in range(0, W):
        column = tl.load(first + base + rows * W + j, mask=rows < H, other=0.0)
        c = tl.cos(PI * l * (2 * j + 1) / (2 * wf))
        acc += column[:, None] * c[None, :]
    eigen = 4.0 - 2.0 * tl.cos(PI * k / hf)[:, None] - 2.0 * tl.cos(PI * l / wf)[None, :]
    weight = tl.where(rows[:, None] > 0, 2.0, 1.0) / hf * tl.where(cols[None, :] > 0, 2.0, 1.0) / wf
    zero = (rows[:, None] == 0) & (cols[None, :] == 0)
    acc = tl.where(zero, 0.0, acc * weight / tl.where(zero, 1.0, eigen))
    tl.store(second + base + tile, acc, mask=live)
    tl.debug_barrier()
    # first[n, l] = sum_k cos(pi k (2n+1) / 2H) second[k, l]
    acc = tl.zeros([BH, BW], dtype=tl.float64)
    for kk in range(0, H):
        row = tl.load(second + base + kk * W + cols, mask=cols < W, other=0.0)
        c = tl.cos(PI * kk * (2 * k + 1) / (2 * hf))
        acc += c[:, None] * row[None, :]
    tl.store(first + base + tile, acc, mask=live)
    tl.debug_barrier()
    # out[n, x] = sum_l first[n, l] cos(pi l (2x+1) / 2W)
    acc = tl.zeros([BH, BW], dtype=tl.float64)
    for ll in range(0, W):
        column = tl.load(first + base + rows * W + ll, mask=rows < H, other=0.0)
        c = tl.cos(PI * ll * (2 * l + 1) / (2 * wf))
        acc += column[:, None] * c[None, :]
    tl.store(out + base + tile, acc, mask=live)


def kernel(residual, solution, M, H, W):
    first, second = torch.empty_like(residual), torch.empty_like(residual)
    _solve[(M,)](residual, solution, first, second, H, W, BH=max(triton.next_power_of_2(H), {{MIN_BLOCK}}),
                      BW=max(triton.next_power_of_2(W), {{MIN_BLOCK}}), num_warps={{NUM_WARPS}})
