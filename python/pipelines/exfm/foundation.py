"""Streaming training of the foundation model on all domains, with snapshots and DAS files per staleness."""
from __future__ import annotations

import copy
import os
from dataclasses import asdict
from typing import Dict, List, Tuple

import torch

from .config import ConfigError, FoundationConfig
from .das import join_fm_logits, join_unseen_ids, snapshot_for_window, write_das
from .data import load_dataset
from .metrics import auc, normalized_entropy
from .model import Dlrm
from .training import log, predict, set_threads, train_pass


def _training_rows(window: torch.Tensor, domain: torch.Tensor, windows: List[int], keep: torch.Tensor) -> torch.Tensor:
    """Rows of the given windows that the FM may train on (after per-domain down-sampling)."""
    mask = torch.zeros_like(window, dtype=torch.bool)
    for w in windows:
        mask |= window == w
    return torch.nonzero(mask & keep).flatten()


def train_foundation(config: FoundationConfig) -> dict:
    """Trains the FM window by window, keeps a snapshot after each window, and writes one DAS file per staleness."""
    set_threads(config.threads)
    batch, meta = load_dataset(config.data)
    batch = batch.to(config.device)
    windows = int(meta["config"]["windows"])
    domains = int(meta["config"]["domains"])
    if config.history_windows >= windows:
        raise ConfigError(f"args.history_windows: {config.history_windows} leaves no window for the VMs; the dataset has {windows} windows")
    for name in ("domain_weights", "negative_keep"):
        for key in getattr(config, name):
            if int(key) >= domains:
                raise ConfigError(f"args.{name}.{key}: the dataset has domains 0..{domains - 1}")
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    # The FM sees only a keep-fraction of some domains: how an FM becomes biased against a domain.
    keep_probability = torch.ones(batch.rows)
    for key, weight in config.domain_weights.items():
        keep_probability[batch.domain.cpu() == int(key)] = weight
    keep = torch.rand(batch.rows, generator=generator) < keep_probability
    # Negative down-sampling without recalibration: the kept data over-states the domain's click rate.
    negative_probability = torch.ones(batch.rows)
    for key, weight in config.negative_keep.items():
        negative_probability[batch.domain.cpu() == int(key)] = weight
    negative_draw = torch.rand(batch.rows, generator=generator)
    keep &= (batch.label.cpu() > 0.5) | (negative_draw < negative_probability)
    keep_probability = keep_probability.to(config.device)
    keep = keep.to(config.device)
    model = Dlrm(meta["vocabulary"], meta["dense_features"], config.model).to(config.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    history = list(range(config.history_windows))
    history_rows = _training_rows(batch.window, batch.domain, history, keep)
    for epoch in range(config.history_epochs):
        terms = train_pass(model, optimizer, batch.select(history_rows), None, "plain", config.batch_size, generator)
        log(f"[exfm] FM history epoch {epoch + 1}/{config.history_epochs}: loss {terms['hard']:.4f}")
    snapshots: Dict[int, dict] = {config.history_windows - 1: copy.deepcopy(model.state_dict())}
    # Window w's snapshot exists only once the FM trained on w; the last window is never needed.
    for w in range(config.history_windows, windows - 1):
        window_rows = batch.select(_training_rows(batch.window, batch.domain, [w], keep))
        for _ in range(config.epochs_per_window):
            terms = train_pass(model, optimizer, window_rows, None, "plain", config.batch_size, generator)
        snapshots[w] = copy.deepcopy(model.state_dict())
        log(f"[exfm] FM window {w}: loss {terms['hard']:.4f}")
    os.makedirs(config.output, exist_ok=True)
    model_path = os.path.join(config.output, "fm.pt")
    torch.save({"kind": "foundation", "model": asdict(config.model), "state": {k: v.cpu() for k, v in model.state_dict().items()}, "vocabulary": meta["vocabulary"], "dense_features": meta["dense_features"]}, model_path)
    # The window in which the FM first trained on each user and ad id (windows if never): DAS marks the
    # rows whose ids the published snapshot never saw, a cheap signal of where its prediction is least informed.
    user_ids, ad_ids = batch.sparse["user"].values.cpu(), batch.sparse["ad"].values.cpu()
    trained_window = torch.where(keep.cpu(), batch.window.cpu(), torch.full_like(batch.window.cpu(), windows))
    first_user = torch.full((int(meta["vocabulary"]["user"]),), windows, dtype=torch.int64).scatter_reduce(0, user_ids, trained_window, "amin")
    first_ad = torch.full((int(meta["vocabulary"]["ad"]),), windows, dtype=torch.int64).scatter_reduce(0, ad_ids, trained_window, "amin")
    cache: Dict[Tuple[int, int], torch.Tensor] = {}
    scorer = Dlrm(meta["vocabulary"], meta["dense_features"], config.model).to(config.device)
    das_paths: Dict[str, str] = {}
    quality: Dict[str, list] = {}
    unseen_share: Dict[int, float] = {}
    for staleness in config.staleness:
        predictions = {}
        unseen = {}
        per_window = []
        for w in range(config.history_windows, windows):
            source = snapshot_for_window(w, config.history_windows, staleness)
            rows = torch.nonzero(batch.window == w).flatten()
            if (source, w) not in cache:
                scorer.load_state_dict(snapshots[source])
                cache[(source, w)] = predict(scorer, batch.select(rows))
            logits = cache[(source, w)]
            predictions[w] = (rows.cpu(), logits.cpu(), source)
            cpu_rows = rows.cpu()
            unseen[w] = (first_user[user_ids[cpu_rows]] > source, first_ad[ad_ids[cpu_rows]] > source)
            labels = batch.label[rows]
            per_window.append({
                "window": w,
                "snapshot": source,
                "ne": normalized_entropy(logits, labels),
                "ne_by_domain": [normalized_entropy(logits[batch.domain[rows] == d], labels[batch.domain[rows] == d]) for d in range(domains)],
                "auc": auc(logits, labels),
                # Mean predicted CTR over the observed click rate: 1 is calibrated, above 1 over-predicts.
                "calibration_by_domain": [float(torch.sigmoid(logits[batch.domain[rows] == d]).mean() / labels[batch.domain[rows] == d].mean().clamp(min=1e-9)) for d in range(domains)],
            })
        path = os.path.join(config.output, f"das_k{staleness}.pt")
        columns = join_fm_logits(batch.rows, batch.window.cpu(), predictions)
        columns.update(join_unseen_ids(batch.rows, predictions, unseen))
        write_das(path, columns, staleness)
        das_paths[str(staleness)] = path
        unseen_share[staleness] = float(columns["fm_unseen_ad"][batch.window.cpu() >= config.history_windows].float().mean())
        quality[str(staleness)] = per_window
        log(f"[exfm] DAS staleness {staleness}: wrote {path}")
    return {
        "ok": True,
        "command": "train-foundation",
        "model_path": model_path,
        "parameters": model.parameter_count(),
        "das": das_paths,
        "history_windows": config.history_windows,
        "trained_rows": int(keep.sum()),
        "unseen_share": {str(k): v for k, v in unseen_share.items()},
        "fm_quality": quality,
    }
