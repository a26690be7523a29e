# kernelevolve:template
# param BLOCK_D: 32, 16, 64, 128
# param NUM_WARPS: 4, 2, 8
"""DLRM pairwise interaction: per sample, the F x F Gram matrix by fp32 (ieee) dot over BLOCK_D slices, lower triangle stored."""
import triton
import triton.language as tl


@triton.jit
def _interaction(features_pointer, out_pointer, F, D, PAIRS, BLOCK_F: tl.constexpr, BLOCK_D: tl.constexpr):
    sample = tl.program_id(0).to(tl.int64)
    i = tl.arange(0, BLOCK_F)
    gram = tl.zeros([BLOCK_F, BLOCK_F], dtype=tl.float32)
    for start in range(0, D, BLOCK_D):
        depth = start + tl.arange(0, BLOCK_D)
        rows = tl.load(features_pointer + sample * F * D + i[:, None] * D + depth[None, :],
                       mask=(i[:, None] < F) & (depth[None, :] < D), other=0.0, eviction_policy="evict_first")
        gram = tl.dot(rows, tl.trans(rows), gram, input_precision="ieee")
    # Pair (i, j) with j < i sits at i * (i - 1) / 2 + j, the order of tril_indices(offset=-1).
    j = tl.arange(0, BLOCK_F)
    position = (i[:, None] * (i[:, None] - 1)) // 2 + j[None, :]
    keep = (j[None, :] < i[:, None]) & (i[:, None] < F)
    tl.store(out_pointer + sample * PAIRS + position, gram, mask=keep)


def kernel(features, out, B, F, D):
    _interaction[(B,)](features, out, F, D, F * (F - 1) // 2, BLOCK_F=max(triton.next_power_of_2(F), 16), BLOCK_D={{BLOCK_D}},
                       num_warps={{NUM_WARPS}})
