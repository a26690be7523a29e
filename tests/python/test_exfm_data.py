"""The synthetic ads stream: jagged layout, determinism, id churn, preference and click-rate drift."""
import pytest
import torch

from pipelines.exfm.config import ConfigError, DataConfig, from_dict
from pipelines.exfm.data import SPARSE_FEATURES, ClickModel, generate_stream
from pipelines.exfm.jagged import Jagged

TINY = dict(domains=2, windows=4, examples_per_window=300, users=200, ads_per_domain=40)


def test_jagged_select_gathers_rows_in_order():
    feature = Jagged.from_lengths(torch.tensor([10, 11, 12, 20, 30, 31]), torch.tensor([3, 0, 1, 2]))
    picked = feature.select(torch.tensor([3, 1, 0]))
    assert picked.offsets.tolist() == [0, 2, 2, 5]
    assert picked.values.tolist() == [30, 31, 10, 11, 12]


def test_stream_is_deterministic_and_jagged_is_consistent():
    first, meta = generate_stream(DataConfig(seed=3, **TINY))
    second, _ = generate_stream(DataConfig(seed=3, **TINY))
    other, _ = generate_stream(DataConfig(seed=4, **TINY))
    assert torch.equal(first.label, second.label) and torch.equal(first.sparse["user_history"].values, second.sparse["user_history"].values)
    assert not torch.equal(first.label, other.label)
    assert first.rows == 2 * 4 * 300
    assert set(first.sparse) == set(SPARSE_FEATURES)
    for name, feature in first.sparse.items():
        assert feature.rows == first.rows
        assert int(feature.values.max()) < meta["vocabulary"][name]
    # Multi-hot features really are jagged, empty lists included.
    history = first.sparse["user_history"].lengths()
    assert int(history.min()) == 0 and int(history.max()) > 1


def test_labels_follow_the_click_model():
    batch, _ = generate_stream(DataConfig(seed=0, **{**TINY, "examples_per_window": 2000}))
    # Calibration: the mean click equals the mean ground-truth probability within sampling noise.
    assert float(batch.label.mean()) == pytest.approx(float(torch.sigmoid(batch.truth_logit).mean()), abs=0.02)


def test_ids_churn_between_windows():
    config = DataConfig(seed=0, **TINY, churn=0.3)
    batch, _ = generate_stream(config)
    first = set(batch.sparse["ad"].values[batch.window == 0].tolist())
    last = set(batch.sparse["ad"].values[batch.window == 3].tolist())
    assert len(last - first) > 0.3 * len(last)  # new ads appear
    assert len(first - last) > 0  # old ads retire
    static, _ = generate_stream(DataConfig(seed=0, **TINY, churn=0.0))
    static_last = set(static.sparse["ad"].values[static.window == 3].tolist())
    # Without churn every ad comes from the two domains' initial pools of 40 ids.
    assert static_last <= set(range(2 * 40))
    assert max(set(batch.sparse["ad"].values.tolist())) >= 2 * 40


def _pair_logits(model: ClickModel, window: int) -> torch.Tensor:
    users, ads = torch.arange(50), torch.arange(50)
    empty = Jagged.from_lengths(torch.zeros(0, dtype=torch.int64), torch.zeros(50, dtype=torch.int64))
    return model.logit(users, ads, empty, empty, torch.zeros(50, 0), 0, window)


def test_preferences_drift_only_when_asked():
    drifting = ClickModel(DataConfig(seed=1, **TINY, drift=0.4, dense_features=0))
    still = ClickModel(DataConfig(seed=1, **TINY, drift=0.0, ctr_drift=0.0, dense_features=0))
    early, late = _pair_logits(drifting, 0), _pair_logits(drifting, 3)
    correlation = float(torch.corrcoef(torch.stack([early, late]))[0, 1])
    assert correlation < 0.8
    assert torch.allclose(_pair_logits(still, 0), _pair_logits(still, 3))


def test_bad_config_names_the_field():
    with pytest.raises(ConfigError, match="churn"):
        from_dict(DataConfig, {"churn": 1.5})
    with pytest.raises(ConfigError, match="unknown field"):
        from_dict(DataConfig, {"window": 3})
    with pytest.raises(ConfigError, match="expected an integer"):
        from_dict(DataConfig, {"windows": "many"})


def test_vertical_defaults_are_the_fair_streaming_baseline():
    from pipelines.exfm.config import VerticalConfig

    config = from_dict(VerticalConfig, {"data": "d"})
    assert config.epochs_per_window == 1 and config.weight_decay > 0 and config.adapter_context
    with pytest.raises(ConfigError, match="weight_decay"):
        from_dict(VerticalConfig, {"data": "d", "weight_decay": -1.0})
