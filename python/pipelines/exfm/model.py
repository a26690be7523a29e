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
    """Maps a (stale) FM logit, and optionally cheap context, to a logit calibrated on the VM's fresh labels.

    adapted = fm * (1 + scale(z)) + shift(z), with z = [fm, context] through one tanh layer. With context
    (the FM's staleness age, flags for ids the FM never trained on, dense features) the adapter can learn a
    temperature and an offset per age and per id freshness: how much a stale FM's logit still says about
    today's click. Without context it is a monotone-ish recalibration of the scalar logit only.
    """

    def __init__(self, hidden: int, context_features: int = 0) -> None:
        super().__init__()
        self.context_features = context_features
        self.hidden = nn.Sequential(nn.Linear(1 + context_features, hidden), nn.Tanh())
        self.out = nn.Linear(hidden, 2)
        # Zero output layer: the adapter starts as the identity, so early distillation sees the raw FM.
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, fm_logit: torch.Tensor, context: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Returns the adapted logit, same shape as fm_logit; context is (rows, context_features)."""
        inputs = fm_logit.unsqueeze(-1)
        if self.context_features:
            if context is None or context.shape[-1] != self.context_features:
                raise ValueError(f"the adapter expects {self.context_features} context features per row")
            inputs = torch.cat([inputs, context], dim=-1)
        scale, shift = self.out(self.hidden(inputs)).unbind(-1)
        return fm_logit * (1 + scale) + shift


class Dlrm(nn.Module):
    """Embedding bags + bottom MLP + dot/DCNv2 interaction + top MLP + serving head (+ auxiliary head, + adapter)."""

    def __init__(self, vocabulary: Dict[str, int], dense_features: int, config: ModelConfig, auxiliary_head: bool = False, adapter_hidden: Optional[int] = None, adapter_context: int = 0) -> None:
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
        self.adapter = StudentAdapter(adapter_hidden, adapter_context) if adapter_hidden else None

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
