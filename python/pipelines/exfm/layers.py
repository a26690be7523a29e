"""DLRM building blocks: embedding bags over jagged ids, MLPs, pairwise-dot and DCNv2 cross interactions."""
from __future__ import annotations

from typing import Dict, List

import torch
from torch import nn
from torch.profiler import record_function

from ..kernels import swap
from .jagged import Jagged


class EmbeddingBags(nn.Module):
    """One embedding table per sparse feature, pooled (sum or mean) over each example's jagged ids."""

    def __init__(self, vocabulary: Dict[str, int], dim: int, pooling: str) -> None:
        super().__init__()
        self.names = list(vocabulary)
        self.pooling = pooling
        self.tables = nn.ModuleDict({name: nn.EmbeddingBag(size, dim, mode=pooling) for name, size in vocabulary.items()})
        for table in self.tables.values():
            nn.init.normal_(table.weight, std=0.05)

    def forward(self, sparse: Dict[str, Jagged]) -> torch.Tensor:
        """Returns pooled embeddings of shape (batch, features, dim); empty bags pool to zeros."""
        with record_function("exfm::embedding_bag"):
            pooled = []
            for name in self.names:
                feature = sparse[name]
                # EmbeddingBag takes the start of each bag; the final total offset is implied.
                pooled.append(self.tables[name](feature.values, feature.offsets[:-1]))
            return torch.stack(pooled, dim=1)


def mlp(widths: List[int], final_activation: bool = True) -> nn.Sequential:
    """Linear+ReLU layers through the given widths (widths[0] is the input size)."""
    layers: List[nn.Module] = []
    for index in range(len(widths) - 1):
        layers.append(nn.Linear(widths[index], widths[index + 1]))
        if final_activation or index < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def dot_interaction(features: torch.Tensor) -> torch.Tensor:
    """DLRM pairwise interaction: the strictly-lower-triangle dot products of the (batch, F, D) vectors
    (bmm + gather in torch; an optimised kernel can be swapped in: pipelines/kernels/swap.py, exfm.dot_interaction)."""
    return swap.call("exfm.dot_interaction", features)


class CrossLayer(nn.Module):
    """One DCNv2 cross layer: x_next = x0 * (W x + b) + x, with W full-rank or factorised as U V."""

    def __init__(self, width: int, rank: int) -> None:
        super().__init__()
        if rank > 0:
            self.project = nn.Sequential(nn.Linear(width, rank, bias=False), nn.Linear(rank, width))
        else:
            self.project = nn.Linear(width, width)

    def forward(self, x0: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Applies the cross to the current input x with the layer-0 input x0."""
        return x0 * self.project(x) + x


class Interaction(nn.Module):
    """Pairwise dot products of the bottom-MLP output and the pooled embeddings, then DCNv2 cross layers."""

    def __init__(self, features: int, dim: int, cross_layers: int, cross_rank: int) -> None:
        super().__init__()
        vectors = features + 1
        self.output_width = dim + vectors * (vectors - 1) // 2
        self.cross = nn.ModuleList([CrossLayer(self.output_width, cross_rank) for _ in range(cross_layers)])

    def forward(self, dense: torch.Tensor, pooled: torch.Tensor) -> torch.Tensor:
        """Returns (batch, output_width) interaction features."""
        with record_function("exfm::interaction"):
            vectors = torch.cat([dense.unsqueeze(1), pooled], dim=1)
            x0 = torch.cat([dense, dot_interaction(vectors)], dim=1)
            x = x0
            for layer in self.cross:
                x = layer(x0, x)
            return x
