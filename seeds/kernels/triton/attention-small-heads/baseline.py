"""softmax(q k^T / sqrt(E)) v, flash-style: one program per (batch*head, query block), keys streamed with an online softmax."""
import triton
import triton.language as tl


@triton.jit
def _attention(q_pointer, k_pointer, v_pointer, out_pointer, S, E, scale,
               BLOCK_Q: tl.constexpr, BLOCK_K: tl.constexpr, BLOCK_E: tl.constexpr):
    head = tl.program_id(0).to(tl.int64)
    queries = tl.program_id(1) * BLOCK_Q + tl.arange(0, BLOCK_Q)
    features = tl.arange(0, BLOCK_E)
    base = head * S * E
    q = tl.load(q_pointer + base + queries[:, None] * E + features[None, :], mask=(queries[:, None] < S) & (features[None, :] < E), other=0.0)
    running_max = tl.full([BLOCK_Q], -float("inf"), dtype=tl.float32)
    running_sum = tl.zeros([BLOCK_Q], dtype=tl.float32)
    accumulator = tl.zeros([BLOCK_Q, BLOCK_E], dtype=tl.float32)
    for start in range(0, S, BLOCK_K):
        keys = start + tl.arange(0, BLOCK_K)
        mask = (keys[:, None] < S) & (features[None, :] < E)
        k = tl.load(k_pointer + base + keys[:, None] * E + features[None, :], mask=mask, other=0.0)
        v = tl.load(v_pointer + base + keys[:, None] * E + features[None, :], mask=mask, other=0.0)
        scores = tl.dot(q, tl.trans(k), input_precision="ieee") * scale
        scores = tl.where(keys[None, :] < S, scores, -float("inf"))
        new_max = tl.maximum(running_max, tl.max(scores, axis=1))
        correction = tl.exp(running_max - new_max)
        weights = tl.exp(scores - new_max[:, None])
        running_sum = running_sum * correction + tl.sum(weights, axis=1)
        accumulator = accumulator * correction[:, None] + tl.dot(weights, v, input_precision="ieee")
        running_max = new_max
    result = accumulator / running_sum[:, None]
    tl.store(out_pointer + base + queries[:, None] * E + features[None, :], result, mask=(queries[:, None] < S) & (features[None, :] < E))


def kernel(q, k, v, out, B, H, S, E):
    block_e = max(triton.next_power_of_2(E), 16)
    _attention[(B * H, triton.cdiv(S, 32))](q, k, v, out, S, E, 1.0 / E ** 0.5, BLOCK_Q=32, BLOCK_K=32, BLOCK_E=block_e)
