"""Deterministic synthetic ads stream: domains, jagged sparse ids, dense features, a latent-factor click model and drift."""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict
from typing import Dict, List, Tuple

import torch

from .config import ConfigError, DataConfig
from .jagged import AdsBatch, Jagged

SPARSE_FEATURES = ("user", "ad", "ad_category", "domain", "user_history", "context")


class ClickModel:
    """The ground truth: latent user/ad/category factors, per-domain preferences, and their drift over windows."""

    def __init__(self, config: DataConfig) -> None:
        self.config = config
        generator = torch.Generator().manual_seed(config.seed)
        k, windows = config.latent_dim, config.windows
        self.user_replacements = int(round(config.churn * config.users))
        self.ad_replacements = int(round(config.churn * config.ads_per_domain))
        self.user_capacity = config.users + windows * self.user_replacements
        per_domain_ads = config.ads_per_domain + windows * self.ad_replacements
        self.ad_capacity = config.domains * per_domain_ads

        def normal(*shape: int, scale: float = 1.0) -> torch.Tensor:
            return torch.randn(*shape, generator=generator) * scale

        self.user_factors = normal(self.user_capacity, k)
        self.ad_factors = normal(self.ad_capacity, k)
        self.category_factors = normal(config.categories, k)
        self.ad_category = torch.randint(0, config.categories, (self.ad_capacity,), generator=generator)
        # Ads of domain d occupy one contiguous id block, so a domain's new ids never collide with another's.
        self.ad_domain = torch.arange(self.ad_capacity) // per_domain_ads
        self.shared_start = normal(k, k, scale=1 / math.sqrt(k))
        self.shared_end = normal(k, k, scale=1 / math.sqrt(k))
        self.domain_preference = normal(config.domains, k, k, scale=1 / math.sqrt(k))
        steps = normal(windows, config.domains, scale=config.ctr_drift)
        steps[0] = 0
        self.base_logit = config.base_logit + normal(1, config.domains, scale=0.3) + torch.cumsum(steps, 0)
        self.context_effect = normal(config.domains, config.context_vocabulary, scale=0.5)
        self.dense_weight = normal(config.domains, max(config.dense_features, 1), scale=0.3)
        # A fixed popularity per id (Zipf over a random rank) so hot ids stay hot while they live.
        self.user_popularity = (torch.randperm(self.user_capacity, generator=generator) + 1.0) ** -config.zipf
        self.ad_popularity = (torch.randperm(self.ad_capacity, generator=generator) + 1.0) ** -config.zipf
        self.history = self._user_histories(generator)
        self.generator = generator
        # The category interactions draw from their own generator, so streams without them are unchanged.
        cross_generator = torch.Generator().manual_seed(1_000_003 + config.seed)
        self.history_cross = spectral_matrix(config.categories, config.categories, config.cross_decay, cross_generator)
        self.context_cross = spectral_matrix(config.context_vocabulary, config.categories, config.cross_decay, cross_generator)

    def _user_histories(self, generator: torch.Generator) -> Jagged:
        """Each user's multi-hot history of categories, drawn from their affinity (length 0..history_max)."""
        config = self.config
        lengths = torch.randint(0, config.history_max + 1, (self.user_capacity,), generator=generator)
        affinity = torch.softmax(self.user_factors @ self.category_factors.T / math.sqrt(config.latent_dim) * 2.0, dim=1)
        draws = torch.multinomial(affinity, config.history_max, replacement=True, generator=generator)
        keep = torch.arange(config.history_max).unsqueeze(0) < lengths.unsqueeze(1)
        return Jagged.from_lengths(draws[keep], lengths)

    def preference(self, window: int) -> torch.Tensor:
        """The shared user-ad preference matrix at a window: a rotation between two random matrices."""
        angle = self.config.drift * window
        return math.cos(angle) * self.shared_start + math.sin(angle) * self.shared_end

    def logit(self, users: torch.Tensor, ads: torch.Tensor, history: Jagged, context: Jagged, dense: torch.Tensor, domain: int, window: int) -> torch.Tensor:
        """Ground-truth click logit of examples of one domain at one window."""
        config = self.config
        k = config.latent_dim
        ad_vector = self.ad_factors[ads] + self.category_factors[self.ad_category[ads]]
        matrix = self.preference(window) + config.domain_shift * self.domain_preference[domain]
        affinity = ((self.user_factors[users] @ matrix) * ad_vector).sum(1) / math.sqrt(2 * k)
        rows = torch.repeat_interleave(torch.arange(history.rows), history.lengths())
        history_match = torch.zeros(history.rows).index_add_(0, rows, (self.category_factors[history.values] * ad_vector[rows]).sum(1))
        history_term = 0.5 * history_match / (history.lengths().clamp(min=1) * math.sqrt(2 * k))
        context_rows = torch.repeat_interleave(torch.arange(context.rows), context.lengths())
        context_term = torch.zeros(context.rows).index_add_(0, context_rows, self.context_effect[domain, context.values])
        dense_term = dense @ self.dense_weight[domain, : dense.shape[1]] if dense.shape[1] else 0.0
        logit = self.base_logit[window, domain] + config.signal * affinity + history_term + context_term + dense_term
        if config.cross_signal > 0:
            logit = logit + config.cross_signal * self.cross_term(ads, history, context)
        return logit

    def cross_term(self, ads: torch.Tensor, history: Jagged, context: Jagged) -> torch.Tensor:
        """sum_h H[h, c] + sum_t C[t, c] over each row's history categories h and context tokens t (c: the ad's category).

        Each sum is divided by the square root of its mean bag length, so both parts have about unit RMS. Sums,
        not means, so a model with sum-pooled bags can express the term exactly given enough embedding dimensions.
        """
        config = self.config
        category = self.ad_category[ads]
        total = torch.zeros(history.rows)
        for bag, matrix, mean_length in ((history, self.history_cross, config.history_max / 2), (context, self.context_cross, 2.0)):
            rows = torch.repeat_interleave(torch.arange(bag.rows), bag.lengths())
            summed = torch.zeros(bag.rows).index_add_(0, rows, matrix[bag.values, category[rows]])
            total += summed / math.sqrt(max(mean_length, 1e-9))
        return total


def spectral_matrix(rows: int, columns: int, decay: float, generator: torch.Generator) -> torch.Tensor:
    """A random (rows, columns) matrix of full rank whose i-th singular value is proportional to (i + 1)^-decay, entries at unit RMS.

    The best rank-d approximation keeps sum_{i<d} (i+1)^-2decay of its energy: a d-dimensional embedding model
    captures that share and no more, so a larger embedding captures more.
    """
    rank = min(rows, columns)
    left, _ = torch.linalg.qr(torch.randn(rows, rows, generator=generator))
    right, _ = torch.linalg.qr(torch.randn(columns, columns, generator=generator))
    values = (torch.arange(rank, dtype=torch.float32) + 1.0) ** -decay
    matrix = (left[:, :rank] * values) @ right[:, :rank].T
    return matrix / matrix.pow(2).mean().sqrt()


def _sample(weights: torch.Tensor, pool: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """Draws ids from an active pool in proportion to their popularity."""
    return pool[torch.multinomial(weights[pool], count, replacement=True, generator=generator)]


def _churn(pool: torch.Tensor, replacements: int, next_id: int, generator: torch.Generator) -> Tuple[torch.Tensor, int]:
    """Retires `replacements` random ids of the pool and adds as many fresh ids."""
    if replacements == 0:
        return pool, next_id
    keep = torch.randperm(pool.numel(), generator=generator)[replacements:]
    fresh = torch.arange(next_id, next_id + replacements)
    return torch.cat([pool[keep].sort().values, fresh]), next_id + replacements


def generate_stream(config: DataConfig) -> Tuple[AdsBatch, dict]:
    """Generates every window of every domain; returns the examples and metadata (vocabularies, churn)."""
    model = ClickModel(config)
    generator = model.generator
    per_domain_ads = model.ad_capacity // config.domains
    users = torch.arange(config.users)
    next_user = config.users
    ad_pools = [torch.arange(d * per_domain_ads, d * per_domain_ads + config.ads_per_domain) for d in range(config.domains)]
    next_ads = [d * per_domain_ads + config.ads_per_domain for d in range(config.domains)]
    parts: List[AdsBatch] = []
    new_id_share: List[float] = []
    seen_users: set = set()
    for window in range(config.windows):
        if window > 0:
            users, next_user = _churn(users, model.user_replacements, next_user, generator)
            for d in range(config.domains):
                ad_pools[d], next_ads[d] = _churn(ad_pools[d], model.ad_replacements, next_ads[d], generator)
        window_users: List[torch.Tensor] = []
        for d in range(config.domains):
            count = config.examples_per_window
            user_ids = _sample(model.user_popularity, users, count, generator)
            ad_ids = _sample(model.ad_popularity, ad_pools[d], count, generator)
            history = model.history.select(user_ids)
            context = _context(config, count, generator)
            dense = torch.randn(count, config.dense_features, generator=generator)
            truth = model.logit(user_ids, ad_ids, history, context, dense, d, window)
            label = torch.bernoulli(torch.sigmoid(truth), generator=generator)
            ones = torch.ones(count, dtype=torch.int64)
            sparse = {
                "user": Jagged.from_lengths(user_ids, ones),
                "ad": Jagged.from_lengths(ad_ids, ones),
                "ad_category": Jagged.from_lengths(model.ad_category[ad_ids], ones),
                "domain": Jagged.from_lengths(torch.full((count,), d, dtype=torch.int64), ones),
                "user_history": history,
                "context": context,
            }
            parts.append(AdsBatch(sparse, dense, label, torch.full((count,), window), torch.full((count,), d), truth.float()))
            window_users.append(user_ids)
        ids = set(torch.cat(window_users).tolist())
        new_id_share.append(len(ids - seen_users) / max(len(ids), 1) if window > 0 else 1.0)
        seen_users |= ids
    batch = AdsBatch.concat(parts)
    meta = {
        "config": asdict(config),
        "rows": batch.rows,
        "vocabulary": {
            "user": model.user_capacity,
            "ad": model.ad_capacity,
            "ad_category": config.categories,
            "domain": config.domains,
            "user_history": config.categories,
            "context": config.context_vocabulary,
        },
        "dense_features": config.dense_features,
        "click_rate": [[float(batch.label[(batch.window == w) & (batch.domain == d)].mean()) for d in range(config.domains)] for w in range(config.windows)],
        "new_user_share": new_id_share,
    }
    return batch, meta


def _context(config: DataConfig, count: int, generator: torch.Generator) -> Jagged:
    """1 to 3 context tokens per example (placement, surface, time bucket...)."""
    lengths = torch.randint(1, 4, (count,), generator=generator)
    values = torch.randint(0, config.context_vocabulary, (int(lengths.sum()),), generator=generator)
    return Jagged.from_lengths(values, lengths)


def write_dataset(folder: str, batch: AdsBatch, meta: dict) -> Dict[str, str]:
    """Writes data.pt and meta.json into a folder; returns their paths."""
    os.makedirs(folder, exist_ok=True)
    data_path, meta_path = os.path.join(folder, "data.pt"), os.path.join(folder, "meta.json")
    torch.save(batch.to_state(), data_path)
    with open(meta_path, "w") as handle:
        json.dump(meta, handle, indent=1)
    return {"data": data_path, "meta": meta_path}


def load_dataset(folder: str) -> Tuple[AdsBatch, dict]:
    """Reads a dataset folder written by write_dataset."""
    data_path, meta_path = os.path.join(folder, "data.pt"), os.path.join(folder, "meta.json")
    if not (os.path.isfile(data_path) and os.path.isfile(meta_path)):
        raise ConfigError(f"no dataset in {folder!r} (expected data.pt and meta.json); run generate-data first")
    with open(meta_path) as handle:
        meta = json.load(handle)
    return AdsBatch.from_state(torch.load(data_path, weights_only=True)), meta
