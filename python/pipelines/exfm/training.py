"""Shared streaming-training helpers: shuffled minibatches, one pass of optimisation, batched inference."""
from __future__ import annotations

import sys
from typing import Dict, Iterator, Optional

import torch

from .jagged import AdsBatch
from .losses import exfm_loss
from .model import Dlrm


def log(message: str) -> None:
    """Progress goes to stderr so stdout keeps only the JSON result."""
    print(message, file=sys.stderr, flush=True)


def set_threads(threads: int) -> None:
    """Pins torch's CPU thread count where the caller asked for one (0 keeps torch's default)."""
    if threads > 0:
        torch.set_num_threads(threads)


def minibatches(rows: int, size: int, generator: torch.Generator, device: torch.device | str = "cpu") -> Iterator[torch.Tensor]:
    """Yields shuffled row indices in chunks of `size`."""
    order = torch.randperm(rows, generator=generator).to(device)
    for start in range(0, rows, size):
        yield order[start : start + size]


def train_pass(model: Dlrm, optimizer: torch.optim.Optimizer, batch: AdsBatch, fm_logit: Optional[torch.Tensor], variant: str, batch_size: int, generator: torch.Generator, distill_weight: float = 0.0, adapter_weight: float = 0.0, context: Optional[torch.Tensor] = None) -> Dict[str, float]:
    """One epoch over `batch`; returns the mean of each loss term."""
    model.train()
    totals: Dict[str, float] = {}
    steps = 0
    for rows in minibatches(batch.rows, batch_size, generator, batch.label.device):
        part = batch.select(rows)
        outputs = model(part)
        loss, terms = exfm_loss(model, outputs, part.label, None if fm_logit is None else fm_logit[rows], variant, distill_weight, adapter_weight, None if context is None else context[rows])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        for key, value in terms.items():
            totals[key] = totals.get(key, 0.0) + value
        steps += 1
    return {key: value / max(steps, 1) for key, value in totals.items()}


@torch.no_grad()
def predict(model: Dlrm, batch: AdsBatch, chunk: int = 8192, head: str = "serve") -> torch.Tensor:
    """Logits of one head over a batch, computed in chunks."""
    model.eval()
    parts = []
    for start in range(0, batch.rows, chunk):
        rows = torch.arange(start, min(start + chunk, batch.rows), device=batch.label.device)
        parts.append(model(batch.select(rows))[head])
    return torch.cat(parts) if parts else torch.zeros(0)

