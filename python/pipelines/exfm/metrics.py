"""Ads metrics: normalized entropy (He et al. 2014), relative NE gain, and ROC AUC."""
from __future__ import annotations

import math

import torch


def normalized_entropy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean log loss of the predictions divided by the entropy of the empirical click rate; lower is better."""
    if logits.numel() == 0:
        raise ValueError("normalized entropy of an empty set")
    logits, labels = logits.detach().double().cpu().flatten(), labels.detach().double().cpu().flatten()
    log_loss = float(torch.nn.functional.binary_cross_entropy_with_logits(logits, labels))
    rate = float(labels.mean())
    if rate <= 0.0 or rate >= 1.0:
        raise ValueError("normalized entropy is undefined when every label is the same")
    background = -(rate * math.log(rate) + (1 - rate) * math.log(1 - rate))
    return log_loss / background


def relative_ne_gain(baseline: float, candidate: float) -> float:
    """(NE_base - NE_new) / NE_base in percent; positive means the candidate is better."""
    return (baseline - candidate) / baseline * 100.0


def auc(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """ROC AUC through the rank-sum statistic, with ties given their average rank."""
    # Metrics run on the CPU whatever device the model used: exact, and no device mixing.
    scores, labels = scores.detach().double().cpu().flatten(), labels.detach().cpu().flatten() > 0.5
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        raise ValueError("AUC needs both positive and negative labels")
    order = torch.argsort(scores)
    sorted_scores = scores[order]
    ranks = torch.empty_like(scores)
    ranks[order] = torch.arange(1, scores.numel() + 1, dtype=torch.float64)
    # Average ranks within runs of equal scores.
    unique, inverse, counts = torch.unique_consecutive(sorted_scores, return_inverse=True, return_counts=True)
    ends = torch.cumsum(counts, 0).double()
    average = ends - (counts.double() - 1) / 2
    ranks[order] = average[inverse]
    rank_sum = float(ranks[labels].sum())
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)
