"""Mean binary cross-entropy with logits: per-block partial sums, then one program adds them and divides."""
import torch
import triton
import triton.language as tl


@triton.jit
def _partial_losses(logits_pointer, labels_pointer, partial_pointer, count, BLOCK: tl.constexpr):
    block = tl.program_id(0)
    offsets = block.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < count
    x = tl.load(logits_pointer + offsets, mask=mask, other=0.0)
    label = tl.load(labels_pointer + offsets, mask=mask, other=0.0)
    # max(x, 0) - x * label + log(1 + exp(-|x|)): no overflow for large |x|.
    loss = tl.maximum(x, 0.0) - x * label + tl.log(1.0 + tl.exp(-tl.abs(x)))
    tl.store(partial_pointer + block, tl.sum(tl.where(mask, loss, 0.0), axis=0))


@triton.jit
def _finish(partial_pointer, loss_pointer, blocks, count, BLOCK: tl.constexpr):
    total = tl.zeros([BLOCK], dtype=tl.float32)
    for start in range(0, blocks, BLOCK):
        offsets = start + tl.arange(0, BLOCK)
        total += tl.load(partial_pointer + offsets, mask=offsets < blocks, other=0.0)
    tl.store(loss_pointer, tl.sum(total, axis=0) / count)


def kernel(logits, labels, loss, B, T):
    count = B * T
    blocks = triton.cdiv(count, 1024)
    partial = torch.empty(blocks, dtype=torch.float32, device=logits.device)
    _partial_losses[(blocks,)](logits, labels, partial, count, BLOCK=1024)
    _finish[(1,)](partial, loss, blocks, count, BLOCK=1024)
