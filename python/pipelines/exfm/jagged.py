"""Jagged (variable-length) sparse features stored as values + offsets, and the ads batch built on them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List

import torch

from ..kernels import swap


@dataclass
class Jagged:
    """One sparse feature for a batch: ids of example i are values[offsets[i]:offsets[i+1]]."""

    values: torch.Tensor  # int64, (total ids,)
    offsets: torch.Tensor  # int64, (rows + 1,), offsets[0] == 0, non-decreasing

    def __post_init__(self) -> None:
        if self.offsets.dim() != 1 or self.offsets.numel() < 1 or int(self.offsets[0]) != 0:
            raise ValueError("offsets must be 1-D and start at 0")
        if int(self.offsets[-1]) != self.values.numel():
            raise ValueError(f"offsets end at {int(self.offsets[-1])} but there are {self.values.numel()} values")

    @property
    def rows(self) -> int:
        """Number of examples."""
        return self.offsets.numel() - 1

    def lengths(self) -> torch.Tensor:
        """Number of ids per example."""
        return self.offsets[1:] - self.offsets[:-1]

    @staticmethod
    def from_lengths(values: torch.Tensor, lengths: torch.Tensor) -> "Jagged":
        """Builds offsets from per-row lengths."""
        offsets = torch.zeros(lengths.numel() + 1, dtype=torch.int64, device=values.device)
        offsets[1:] = torch.cumsum(lengths.to(torch.int64), 0)
        return Jagged(values.to(torch.int64), offsets)

    def select(self, rows: torch.Tensor) -> "Jagged":
        """Gathers a subset of rows (any order) into a new compact jagged tensor."""
        lengths = self.lengths()[rows]
        starts = self.offsets[:-1][rows]
        new_offsets = torch.zeros(rows.numel() + 1, dtype=torch.int64, device=self.values.device)
        new_offsets[1:] = torch.cumsum(lengths, 0)
        # Position j of the output reads the source at start(row of j) + (j - new start(row of j)).
        # torch.repeat_interleave(starts - new_offsets[:-1], lengths); an optimised kernel can be swapped in
        # (pipelines/kernels/swap.py, exfm.repeat_interleave, which takes the lengths as offsets)
        shift = swap.call("exfm.repeat_interleave", starts - new_offsets[:-1], new_offsets,
                          fallback=lambda values, offsets: torch.repeat_interleave(values, lengths))
        positions = torch.arange(int(new_offsets[-1]), dtype=torch.int64, device=self.values.device) + shift
        return Jagged(self.values[positions], new_offsets)

    def to(self, device: torch.device | str) -> "Jagged":
        """Moves values and offsets to a device."""
        return Jagged(self.values.to(device), self.offsets.to(device))

    @staticmethod
    def concat(parts: List["Jagged"]) -> "Jagged":
        """Stacks the rows of several jagged tensors."""
        values = torch.cat([p.values for p in parts])
        lengths = torch.cat([p.lengths() for p in parts])
        return Jagged.from_lengths(values, lengths)


@dataclass
class AdsBatch:
    """Examples of the ads stream: sparse jagged features, dense features, labels and bookkeeping."""

    sparse: Dict[str, Jagged]
    dense: torch.Tensor  # float32, (rows, dense features)
    label: torch.Tensor  # float32, (rows,)
    window: torch.Tensor  # int64, (rows,)
    domain: torch.Tensor  # int64, (rows,)
    truth_logit: torch.Tensor  # float32, (rows,): the click model's logit, for oracle metrics and tests

    @property
    def rows(self) -> int:
        """Number of examples."""
        return self.label.numel()

    def select(self, rows: torch.Tensor) -> "AdsBatch":
        """Gathers a subset of examples."""
        return AdsBatch(
            sparse={name: feature.select(rows) for name, feature in self.sparse.items()},
            dense=self.dense[rows],
            label=self.label[rows],
            window=self.window[rows],
            domain=self.domain[rows],
            truth_logit=self.truth_logit[rows],
        )

    @staticmethod
    def concat(parts: List["AdsBatch"]) -> "AdsBatch":
        """Stacks the examples of several batches with the same features."""
        names = list(parts[0].sparse)
        return AdsBatch(
            sparse={name: Jagged.concat([p.sparse[name] for p in parts]) for name in names},
            dense=torch.cat([p.dense for p in parts]),
            label=torch.cat([p.label for p in parts]),
            window=torch.cat([p.window for p in parts]),
            domain=torch.cat([p.domain for p in parts]),
            truth_logit=torch.cat([p.truth_logit for p in parts]),
        )

    def to(self, device: torch.device | str) -> "AdsBatch":
        """Moves every tensor to a device (the GPU run keeps the whole stream there)."""
        return AdsBatch(
            sparse={name: feature.to(device) for name, feature in self.sparse.items()},
            dense=self.dense.to(device),
            label=self.label.to(device),
            window=self.window.to(device),
            domain=self.domain.to(device),
            truth_logit=self.truth_logit.to(device),
        )

    def to_state(self) -> dict:
        """Plain tensors for torch.save."""
        return {
            "sparse": {name: {"values": f.values, "offsets": f.offsets} for name, f in self.sparse.items()},
            "dense": self.dense,
            "label": self.label,
            "window": self.window,
            "domain": self.domain,
            "truth_logit": self.truth_logit,
        }

    @staticmethod
    def from_state(state: dict) -> "AdsBatch":
        """Inverse of to_state."""
        return AdsBatch(
            sparse={name: Jagged(f["values"], f["offsets"]) for name, f in state["sparse"].items()},
            dense=state["dense"],
            label=state["label"],
            window=state["window"],
            domain=state["domain"],
            truth_logit=state["truth_logit"],
        )
