"""Streaming training of one vertical model (plain, distilled, auxiliary head, or student adapter) with next-window evaluation."""
from __future__ import annotations

import os
from dataclasses import asdict
from typing import List, Optional

import torch

from .config import ConfigError, ModelConfig, VerticalConfig
from .das import adapter_context, adapter_context_width, load_das
from .data import load_dataset
from .jagged import AdsBatch
from .metrics import auc, normalized_entropy
from .model import Dlrm
from .training import log, predict, set_threads, train_pass


def build_vertical(vocabulary: dict, dense_features: int, model: ModelConfig, variant: str, adapter_hidden: int, adapter_context: bool = False) -> Dlrm:
    """A VM with the heads its variant needs; only the serving head is ever used to serve."""
    return Dlrm(
        vocabulary,
        dense_features,
        model,
        auxiliary_head=variant in ("auxiliary", "adapter"),
        adapter_hidden=adapter_hidden if variant == "adapter" else None,
        adapter_context=adapter_context_width(dense_features) if variant == "adapter" and adapter_context else 0,
    )


def train_vertical(config: VerticalConfig) -> dict:
    """Streams the VM's domain window by window: evaluate on the window first (progressive validation), then train on it."""
    set_threads(config.threads)
    batch, meta = load_dataset(config.data)
    batch = batch.to(config.device)
    windows, domains = int(meta["config"]["windows"]), int(meta["config"]["domains"])
    if config.domain >= domains:
        raise ConfigError(f"args.domain: the dataset has domains 0..{domains - 1}, got {config.domain}")
    if config.start_window >= windows - 1:
        raise ConfigError(f"args.start_window: must be below {windows - 1} so at least one later window is evaluated")
    fm_logit: Optional[torch.Tensor] = None
    context: Optional[torch.Tensor] = None
    if config.variant != "plain":
        columns = load_das(config.das, batch.rows)
        fm_logit = columns["fm_logit"].to(config.device)
        if config.variant == "adapter" and config.adapter_context:
            context = adapter_context(columns, batch.window, batch.dense)
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    model = build_vertical(meta["vocabulary"], meta["dense_features"], config.model, config.variant, config.adapter_hidden, config.adapter_context).to(config.device)
    # AdamW: decoupled weight decay, the same for every variant so the baseline is regularised as well.
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    per_window: List[dict] = []
    pooled_logits, pooled_labels, pooled_fm, pooled_teacher = [], [], [], []
    for w in range(config.start_window, windows):
        rows = torch.nonzero((batch.window == w) & (batch.domain == config.domain)).flatten()
        part = batch.select(rows)
        window_fm = None if fm_logit is None else fm_logit[rows]
        window_context = None if context is None else context[rows]
        if window_fm is not None and bool(torch.isnan(window_fm).any()):
            raise ConfigError(f"args.das: window {w} has no FM predictions; start_window must be at least the FM's history_windows")
        if w > config.start_window:
            logits = predict(model, part)
            record = {"window": w, "ne": normalized_entropy(logits, part.label), "auc": auc(logits, part.label), "examples": part.rows}
            if window_fm is not None:
                record["fm_ne"] = normalized_entropy(window_fm, part.label)
            per_window.append(record)
            pooled_logits.append(logits)
            pooled_labels.append(part.label)
            if window_fm is not None:
                pooled_fm.append(window_fm)
            if model.adapter is not None:
                # The adapted teacher, scored before it sees this window's labels: what the adapter fixes in the FM.
                model.eval()
                with torch.no_grad():
                    teacher = model.adapter(window_fm, window_context)
                record["adapter_ne"] = normalized_entropy(teacher, part.label)
                pooled_teacher.append(teacher)
        if w < windows - 1:
            for _ in range(config.epochs_per_window):
                terms = train_pass(model, optimizer, part, window_fm, config.variant, config.batch_size, generator, config.distill_weight, config.adapter_weight, window_context)
            log(f"[exfm] VM domain {config.domain} {config.variant} window {w}: " + ", ".join(f"{k} {v:.4f}" for k, v in terms.items()))
    logits, labels = torch.cat(pooled_logits), torch.cat(pooled_labels)
    result = {
        "ok": True,
        "command": "train-vertical",
        "variant": config.variant,
        "domain": config.domain,
        "parameters": model.parameter_count(),
        "serving_parameters": model.parameter_count() - _non_serving_parameters(model),
        "ne": normalized_entropy(logits, labels),
        "auc": auc(logits, labels),
        "oracle_ne": _oracle_ne(batch, config.domain, range(config.start_window + 1, windows)),
        "windows": per_window,
    }
    if pooled_fm:
        result["fm_ne"] = normalized_entropy(torch.cat(pooled_fm), labels)
    if pooled_teacher:
        result["adapter_ne"] = normalized_entropy(torch.cat(pooled_teacher), labels)
    if config.output:
        os.makedirs(os.path.dirname(os.path.abspath(config.output)), exist_ok=True)
        torch.save({"kind": "vertical", "variant": config.variant, "domain": config.domain, "model": asdict(config.model), "adapter_hidden": config.adapter_hidden, "adapter_context": config.adapter_context, "state": {k: v.cpu() for k, v in model.state_dict().items()}, "vocabulary": meta["vocabulary"], "dense_features": meta["dense_features"]}, config.output)
        result["model_path"] = config.output
    return result


def _non_serving_parameters(model: Dlrm) -> int:
    """Parameters that exist only for training (auxiliary head, adapter): they add no serving FLOPs."""
    extra = 0
    for module in (model.auxiliary_head, model.adapter):
        if module is not None:
            extra += sum(p.numel() for p in module.parameters())
    return extra


def _oracle_ne(batch: AdsBatch, domain: int, windows: range) -> float:
    """NE of the click model's own logits: the floor no model can beat on average."""
    mask = batch.domain == domain
    window_mask = torch.zeros_like(mask)
    for w in windows:
        window_mask |= batch.window == w
    rows = torch.nonzero(mask & window_mask).flatten()
    return normalized_entropy(batch.truth_logit[rows], batch.label[rows])
