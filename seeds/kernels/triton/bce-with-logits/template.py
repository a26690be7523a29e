# kernelevolve:template
# param BLOCK: 4096, 1024, 2048, 8192
# param PROGRAMS: 1024, 264, 528, 2048
# param NUM_WARPS: 8, 4, 16
"""Mean BCE with logits: a fixed grid of PROGRAMS programs strides over the data (partial sums), then one program finishes."""
import torch
import triton
import triton.language as tl


@triton.jit
def _partial_losses(logits_pointer, labels_pointer, partial_pointer, count, BLOCK: tl.constexpr):
    program = tl.program_id(0)
    total = tl.zeros([BLOCK], dtype=tl.float32)
    for start in range(program.to(tl.int64) * BLOCK, count, tl.num_programs(0).to(tl.int64) * BLOCK):
        offsets = start + tl.arange(0, BLOCK)
        mask = offsets < count
        x = tl.load(logits_pointer + offsets, mask=mask, other=0.0, eviction_policy="evict_first")
        label = tl.load(labels_pointer + offsets, mask=mask, other=0.0, eviction_policy="evict_first")
        loss = tl.maximum(x, 0.0) - x * label + tl.log(1.0 + tl.exp(-tl.abs(x)))
        total += tl.where(mask, loss, 0.0)
    tl.store(partial_pointer + program, tl.sum(total, axis=0))


@triton.jit
def _finish(partial_pointer, loss_pointer, programs, count, BLOCK: tl.constexpr):
    offsets = tl.arange(0, BLOCK)
    total = tl.load(partial_pointer + offsets, mask=offsets < programs, other=0.0)
    tl.store(loss_pointer, tl.sum(total, axis=0) / count)


def kernel(logits, labels, loss, B, T):
    count = B * T
    programs = max(1, min({{PROGRAMS}}, triton.cdiv(count, {{BLOCK}})))
    partial = torch.empty(programs, dtype=torch.float32, device=logits.device)
    _partial_losses[(programs,)](logits, labels, partial, count, BLOCK={{BLOCK}}, num_warps={{NUM_WARPS}})
    _finish[(1,)](partial, loss, programs, count, BLOCK=triton.next_power_of_2(programs))
