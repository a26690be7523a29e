# kernelevolve:template
# param BLOCK_Q: 64, 32, 128
# param BLOCK_K: 64, 32, 128
# param NUM_WARPS: 4, 8
# param NUM_STAGES: 2, 1, 3
# constraint: BLOCK_Q * BLOCK_K <= 8192
"""softmax(q k^T / sqrt(E)) v, flash-style: BLOCK_Q queries per program, keys streamed in BLOCK_K blocks, exp2 online softmax."""
import triton
import triton.language as tl


@triton.jit
def _attention(q_pointer, k_pointer, v_pointer, out_pointer, S, E, scale_log2,
               BLOCK_Q: tl.constexpr, BLOCK_K: tl.constexpr, BLOCK_E: tl.constexpr):
    head = tl.program_id(1).to(tl.int64)
    queries = tl.program_id(0) * BLOCK_Q + tl.arange(0, BLOCK_Q)
    features = tl.arange(0, BLOCK_E)
    base = head * S * E
    q = tl.load(q_pointer + base + queries[:, None] * E + features[None, :], mask=(queries[:, None] < S) & (features[None, :] < E), other=0.0)
    # Scores in base 2: exp(s / sqrt(E)) = exp2(s * log2(e) / sqrt(E)).
    q = q * scale_log2
    running_max = tl.full([BLOCK_Q], -float("inf"), dtype=tl.float32)
    running_sum = tl.zeros([BLOCK_Q], dtype=tl.float32)
    accumulator = tl.zeros([BLOCK_Q, BLOCK_E], dtype=tl.float32)
    for start in range(0, S, BLOCK_K):
        keys = start + tl.arange(0, BLOCK_K)
        mask = (keys[:, None] < S) & (features[None, :] < E)
        k = tl.load(k_pointer + base + keys[:, None] * E + features[None, :], mask=mask, other=0.0)
        v = tl.load(v_pointer + base + keys[:, None] * E + features[None, :], mask=mask, other=0.0)
        scores = tl.dot(q, tl.trans(k), input_precision="ieee")
        scores = tl.where(keys[None, :] < S, scores, -float("inf"))
        new_max = tl.maximum(running_max, tl.max(scores, axis=1))
        correction = tl.exp2(running_max - new_max)
        weights = tl.exp2(scores - new_max[:, None])
        running_sum = running_sum * correction + tl.sum(weights, axis=1)
        accumulator = tl.dot(weights, v, accumulator * correction[:, None], input_precision="ieee")
        running_max = new_max
    result = accumulator / running_sum[:, None]
    tl.store(out_pointer + base + queries[:, None] * E + features[None, :], result, mask=(queries[:, None] < S) & (features[None, :] < E))


def kernel(q, k, v, out, B, H, S, E):
    block_e = max(triton.next_power_of_2(E), 16)
    grid = (triton.cdiv(S, {{BLOCK_Q}}), B * H)
    _attention[grid](q, k, v, out, S, E, 1.4426950408889634 / E ** 0.5, BLOCK_Q={{BLOCK_Q}}, BLOCK_K={{BLOCK_K}}, BLOCK_E=block_e,
                     num_warps={{NUM_WARPS}}, num_stages={{NUM_STAGES}})
