"""Evaluation of saved FM/VM checkpoints (and DAS predictions) on chosen windows: NE, relative NE gain, AUC."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import torch

from .config import ConfigError, ModelConfig, from_dict
from .das import load_das
from .data import load_dataset
from .metrics import auc, normalized_entropy, relative_ne_gain
from .model import Dlrm
from .training import predict, set_threads
from .vertical import build_vertical


@dataclass
class EvaluateConfig:
    """What to evaluate and on which examples."""

    data: str = ""
    models: List[str] = field(default_factory=list)  # checkpoint paths (fm.pt or a VM's output)
    das: List[str] = field(default_factory=list)  # DAS files, scored as the FM-as-served predictions
    baseline: str = ""  # one of the models or das paths; relative NE gains are computed against it
    domain: Optional[int] = None  # None: every domain
    windows: List[int] = field(default_factory=list)  # empty: every window that all sources cover
    threads: int = 0

    def validate(self, path: str) -> None:
        """Requires a dataset and at least one source, and a baseline among them."""
        if not self.data:
            raise ConfigError(f"{path}.data: the dataset folder written by generate-data is required")
        if not self.models and not self.das:
            raise ConfigError(f"{path}: give at least one checkpoint in 'models' or one DAS file in 'das'")
        if self.baseline and self.baseline not in self.models + self.das:
            raise ConfigError(f"{path}.baseline: must be one of the given models or das files")


def load_checkpoint(path: str) -> Dlrm:
    """Rebuilds a model saved by train-foundation or train-vertical."""
    if not os.path.isfile(path):
        raise ConfigError(f"no checkpoint at {path!r}; pass a 'model_path' returned by train-foundation or train-vertical")
    saved = torch.load(path, weights_only=False)
    if not isinstance(saved, dict) or saved.get("kind") not in ("foundation", "vertical"):
        raise ConfigError(f"{path!r} is not an ExFM checkpoint")
    model_config = from_dict(ModelConfig, saved["model"])
    if saved["kind"] == "foundation":
        model = Dlrm(saved["vocabulary"], saved["dense_features"], model_config)
    else:
        model = build_vertical(saved["vocabulary"], saved["dense_features"], model_config, saved["variant"], saved["adapter_hidden"], saved.get("adapter_context", False))
    model.load_state_dict(saved["state"])
    return model


def evaluate(config: EvaluateConfig) -> dict:
    """Scores every source on the selected rows, per window and pooled, with gains over the baseline."""
    set_threads(config.threads)
    batch, meta = load_dataset(config.data)
    mask = torch.ones(batch.rows, dtype=torch.bool)
    if config.domain is not None:
        if not 0 <= config.domain < int(meta["config"]["domains"]):
            raise ConfigError(f"args.domain: the dataset has domains 0..{int(meta['config']['domains']) - 1}")
        mask &= batch.domain == config.domain
    sources: Dict[str, torch.Tensor] = {}
    for path in config.das:
        sources[path] = load_das(path, batch.rows)["fm_logit"]
    windows = config.windows or sorted(set(batch.window[mask].tolist()))
    for path in config.das:
        # Only windows where the FM had published predictions can be scored.
        windows = [w for w in windows if not bool(torch.isnan(sources[path][(batch.window == w) & mask]).any())]
    if not windows:
        raise ConfigError("args.windows: no window is covered by every source; DAS files cover only windows after the FM's history")
    window_mask = torch.zeros_like(mask)
    for w in windows:
        window_mask |= batch.window == w
    rows = torch.nonzero(mask & window_mask).flatten()
    part = batch.select(rows)
    for path in config.models:
        sources[path] = torch.full((batch.rows,), float("nan"))
        sources[path][rows] = predict(load_checkpoint(path), part)
    results = {}
    for path, logits in sources.items():
        selected = logits[rows]
        results[path] = {
            "ne": normalized_entropy(selected, part.label),
            "auc": auc(selected, part.label),
            "windows": [{"window": w, "ne": normalized_entropy(selected[part.window == w], part.label[part.window == w])} for w in windows],
        }
    if config.baseline:
        base = results[config.baseline]["ne"]
        for entry in results.values():
            entry["relative_ne_gain_percent"] = relative_ne_gain(base, entry["ne"])
    return {"ok": True, "command": "evaluate", "rows": int(rows.numel()), "windows": windows, "domain": config.domain, "results": results}
