"""NE, relative NE gain and AUC of the ExFM pipeline against known values and a brute-force count."""
import itertools
import math

import pytest
import torch

from pipelines.exfm.metrics import auc, normalized_entropy, relative_ne_gain


def test_base_rate_predictor_has_ne_one():
    labels = torch.tensor([1, 0, 0, 0, 1, 0, 0, 0, 0, 0], dtype=torch.float32)
    rate = float(labels.mean())
    logits = torch.full_like(labels, math.log(rate / (1 - rate)))
    assert normalized_entropy(logits, labels) == pytest.approx(1.0, abs=1e-9)


def test_near_perfect_predictor_has_small_ne_and_wrong_one_large():
    labels = torch.tensor([1, 0, 1, 0, 0, 0, 1, 0], dtype=torch.float32)
    confident = (labels * 2 - 1) * 12
    assert normalized_entropy(confident, labels) < 1e-3
    assert normalized_entropy(-confident, labels) > 5


def test_ne_matches_hand_computation():
    labels = torch.tensor([1.0, 0.0, 0.0, 1.0])
    probabilities = torch.tensor([0.8, 0.3, 0.1, 0.6])
    logits = torch.log(probabilities / (1 - probabilities))
    log_loss = -(math.log(0.8) + math.log(0.7) + math.log(0.9) + math.log(0.6)) / 4
    assert normalized_entropy(logits, labels) == pytest.approx(log_loss / math.log(2), rel=1e-6)


def test_ne_rejects_single_class_and_empty():
    with pytest.raises(ValueError):
        normalized_entropy(torch.zeros(3), torch.ones(3))
    with pytest.raises(ValueError):
        normalized_entropy(torch.zeros(0), torch.zeros(0))


def test_relative_gain_sign_and_scale():
    assert relative_ne_gain(0.8, 0.78) == pytest.approx(2.5)
    assert relative_ne_gain(0.8, 0.9) < 0


def brute_force_auc(scores, labels):
    """Counts correctly ordered positive/negative pairs, ties counting one half."""
    positives = [s for s, y in zip(scores, labels) if y]
    negatives = [s for s, y in zip(scores, labels) if not y]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(positives, negatives))
    return wins / (len(positives) * len(negatives))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_matches_brute_force_with_ties(seed):
    generator = torch.Generator().manual_seed(seed)
    # Rounded scores create many ties, the case rank-based AUC most often gets wrong.
    scores = torch.round(torch.randn(60, generator=generator) * 2) / 2
    labels = (torch.rand(60, generator=generator) < 0.4).float()
    assert auc(scores, labels) == pytest.approx(brute_force_auc(scores.tolist(), labels.tolist()), abs=1e-12)


def test_auc_extremes():
    labels = torch.tensor([0.0, 0.0, 1.0, 1.0])
    assert auc(torch.tensor([0.1, 0.2, 0.3, 0.4]), labels) == 1.0
    assert auc(torch.tensor([0.4, 0.3, 0.2, 0.1]), labels) == 0.0
    assert auc(torch.zeros(4), labels) == 0.5
