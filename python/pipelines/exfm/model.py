"""The DLRM-style model used for both the foundation model and the vertical models, with ExFM's extra heads."""
from __future__ import annotations

from typing import Dict, Optional

import torch
from torch import nn
from torch.profiler import record_function

from .config import ModelConfig
from .jagged import AdsBatch
from .layers import EmbeddingBags, Interaction, mlp


class StudentAdapter(nn.Module):
    """A small residual MLP that maps a (stale) FM logit to a logit calibrated on the VM's fresh labels."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(1, hidden), nn.Tanh(), nn.Linear(hidden, 1))
        # Zero output layer: the adapter starts as the identity, so early distillation sees the raw FM.
        nn.init.zeros_(self.net[2].weight)
        nn.init.zeros_(self.net[2].bias)

    def forward(self, fm_logit: torch.Tensor) -> torch.Tensor:
        """Returns the adapted logit, same shape as the input."""
        return fm_logit + self.net(fm_logit.unsqueeze(-1)).squeeze(-1)


class Dlrm(nn.Module):
    """Embedding bags + bottom MLP + dot/DCNv2 interaction + top MLP + serving head (+ auxiliary head, + adapter)."""

    def __init__(self, vocabulary: Dict[str, int], dense_features: int, config: ModelConfig, auxiliary_head: bool = False, adapter_hidden: Optional[int] = None) -> None:
        super().__init__()
        self.config = config
        self.dense_features = dense_features
        self.embeddings = EmbeddingBags(vocabulary, config.embedding_dim, config.pooling)
        self.bottom = mlp([max(dense_features, 1)] + list(config.bottom_mlp) + [config.embedding_dim])
        self.interaction = Interaction(len(vocabulary), config.embedding_dim, config.cross_layers, config.cross_rank)
        self.top = mlp([self.interaction.output_width] + list(config.top_mlp))
        width = config.top_mlp[-1] if config.top_mlp else self.interaction.output_width
        self.serving_head = nn.Linear(width, 1)
        self.auxiliary_head = nn.Linear(width, 1) if auxiliary_head else None
        self.adapter = StudentAdapter(adapter_hidden) if adapter_hidden else None

    def trunk(self, batch: AdsBatch) -> torch.Tensor:
        """The shared representation both heads read."""
        dense = batch.dense if self.dense_features else torch.zeros(batch.rows, 1, device=batch.label.device)
        with record_function("exfm::mlp"):
            bottom = self.bottom(dense)
        pooled = self.embeddings(batch.sparse)
        crossed = self.interaction(bottom, pooled)
        with record_function("exfm::mlp"):
            return self.top(crossed)

    def forward(self, batch: AdsBatch) -> Dict[str, torch.Tensor]:
        """Returns {'serve': logits} and, where the heads exist, {'aux': logits}."""
        hidden = self.trunk(batch)
        outputs = {"serve": self.serving_head(hidden).squeeze(-1)}
        if self.auxiliary_head is not None:
            outputs["aux"] = self.auxiliary_head(hidden).squeeze(-1)
        return outputs

    def parameter_count(self) -> int:
        """Number of trainable parameters."""
        return sum(p.numel() for p in self.parameters())
