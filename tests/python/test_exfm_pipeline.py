"""The ExFM CLI end to end on a tiny stream: data, FM + DAS, every VM variant, evaluation, profile and its specs."""
import json
import os

import pytest
import torch

from pipelines.exfm.__main__ import main

TINY_DATA = {"seed": 0, "domains": 2, "windows": 4, "examples_per_window": 200, "users": 80, "ads_per_domain": 20}
TINY_FM = {"embedding_dim": 8, "bottom_mlp": [8], "top_mlp": [16], "cross_layers": 1}
TINY_VM = {"embedding_dim": 4, "bottom_mlp": [4], "top_mlp": [8], "cross_layers": 1}


def run(capsys, command, arguments):
    code = main([command, "--args-json", json.dumps(arguments)])
    lines = capsys.readouterr().out.strip().splitlines()
    return code, json.loads(lines[-1])


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return tmp_path_factory.mktemp("exfm")


def test_pipeline_end_to_end(capsys, workspace):
    data = str(workspace / "data")
    code, generated = run(capsys, "generate-data", {**TINY_DATA, "output": data})
    assert code == 0 and generated["rows"] == 2 * 4 * 200
    code, fm = run(capsys, "train-foundation", {"data": data, "output": str(workspace / "fm"), "model": TINY_FM, "history_windows": 2, "history_epochs": 1, "staleness": [1, 2], "threads": 1})
    assert code == 0 and set(fm["das"]) == {"1", "2"}
    # With staleness 2 the window after the refresh still reads the older snapshot.
    assert [w["snapshot"] for w in fm["fm_quality"]["1"]] == [1, 2]
    assert [w["snapshot"] for w in fm["fm_quality"]["2"]] == [1, 1]
    das = torch.load(fm["das"]["1"], weights_only=True)
    windows = torch.load(os.path.join(data, "data.pt"), weights_only=True)["window"]
    assert bool(torch.isnan(das["fm_logit"][windows < 2]).all()) and not bool(torch.isnan(das["fm_logit"][windows >= 2]).any())
    paths = {}
    for variant in ("plain", "distilled", "auxiliary", "adapter"):
        output = str(workspace / f"vm_{variant}.pt")
        code, result = run(capsys, "train-vertical", {"data": data, "das": fm["das"]["1"], "output": output, "variant": variant, "domain": 1, "model": TINY_VM, "start_window": 2, "threads": 1})
        assert code == 0 and result["variant"] == variant
        assert [w["window"] for w in result["windows"]] == [3]
        assert 0 < result["ne"] < 3 and 0 <= result["auc"] <= 1
        paths[variant] = output
    code, evaluated = run(capsys, "evaluate", {"data": data, "models": [paths["plain"], paths["adapter"]], "das": [fm["das"]["1"]], "baseline": paths["plain"], "domain": 1})
    assert code == 0 and evaluated["windows"] == [2, 3]
    assert evaluated["results"][paths["plain"]]["relative_ne_gain_percent"] == 0.0
    assert "relative_ne_gain_percent" in evaluated["results"][fm["das"]["1"]]


def test_profile_writes_runnable_specs(capsys, workspace):
    code, result = run(capsys, "profile", {"target": "vm", "batch_size": 64, "steps": 1, "warmup": 1, "output": str(workspace / "specs"), "data": {"windows": 2, "domains": 1, "examples_per_window": 128, "users": 50, "ads_per_domain": 10}, "threads": 1})
    assert code == 0
    assert result["operators"] and abs(sum(o["share_percent"] for o in result["operators"])) <= 100.0 + 1e-6
    assert any("embedding_bag" in o["operator"] for o in result["operators"])
    assert set(result["regions_forward_ms"]) == {"exfm::embedding_bag", "exfm::interaction", "exfm::mlp", "exfm::loss"}
    assert len(result["spec_paths"]) == 5
    text = open(next(p for p in result["spec_paths"] if p.endswith("embedding-bag-sum.yaml"))).read()
    # The reference embedded in the YAML runs and agrees with a direct loop over the bags.
    source = text.split("reference: |\n", 1)[1].split("\nsizes:", 1)[0]
    namespace = {}
    exec("\n".join(line[2:] for line in source.splitlines()), namespace)
    weight, indices, offsets = torch.randn(6, 3), torch.tensor([0, 5, 5, 2]), torch.tensor([0, 3, 3, 4])
    pooled = namespace["reference"](weight, indices, offsets)
    assert torch.allclose(pooled, torch.stack([weight[[0, 5, 5]].sum(0), torch.zeros(3), weight[2]]))


@pytest.mark.parametrize(
    "command, arguments, message",
    [
        ("train-vertical", {"data": "nowhere", "variant": "adapter"}, "das"),
        ("train-vertical", {"data": "nowhere", "variant": "teacher"}, "variant"),
        ("train-foundation", {"data": "nowhere", "output": "x"}, "run generate-data first"),
        ("generate-data", {"output": "x", "domains": 0}, "domains"),
        ("profile", {"target": "gpu", "output": "x"}, "target"),
    ],
)
def test_bad_arguments_exit_2_with_a_named_field(capsys, command, arguments, message):
    code, result = run(capsys, command, arguments)
    assert code == 2 and result["ok"] is False and message in result["error"]


def test_negative_downsampled_fm_over_predicts_its_domain_and_das_flags_unseen_ids(capsys, workspace):
    data = str(workspace / "data_bias")
    code, _ = run(capsys, "generate-data", {**TINY_DATA, "windows": 5, "examples_per_window": 1000, "output": data})
    assert code == 0
    code, fm = run(capsys, "train-foundation", {"data": data, "output": str(workspace / "fm_bias"), "model": TINY_FM, "history_windows": 2, "history_epochs": 4, "learning_rate": 0.01, "staleness": [1, 2], "negative_keep": {"0": 0.2}, "threads": 1})
    assert code == 0
    code, fair = run(capsys, "train-foundation", {"data": data, "output": str(workspace / "fm_fair"), "model": TINY_FM, "history_windows": 2, "history_epochs": 4, "learning_rate": 0.01, "staleness": [1], "threads": 1})
    assert code == 0
    # Keeping a fifth of domain 0's negatives makes the FM over-predict domain 0 far more than the same FM
    # trained on all the data (a tiny FM is not calibrated either, so compare the two).
    def mean_calibration(result, domain):
        return sum(w["calibration_by_domain"][domain] for w in result["fm_quality"]["1"]) / len(result["fm_quality"]["1"])

    assert mean_calibration(fm, 0) > 1.3 * mean_calibration(fair, 0)
    assert mean_calibration(fm, 1) < 1.3 * mean_calibration(fair, 1)  # the other domain keeps its calibration
    # Ids flagged unseen are exactly those the serving snapshot never trained on; staler FMs have more of them.
    state = torch.load(os.path.join(data, "data.pt"), weights_only=True)
    users, windows, domains, labels = state["sparse"]["user"]["values"], state["window"], state["domain"], state["label"]
    surely_kept = (domains == 1) | (labels > 0.5)  # domain 1 is not down-sampled and positives are always kept
    das = torch.load(fm["das"]["2"], weights_only=True)
    for row in torch.nonzero(windows >= 2).flatten()[::13].tolist():
        before = (users == users[row]) & (windows <= int(das["fm_snapshot"][row]))
        if not bool(before.any()):
            assert bool(das["fm_unseen_user"][row])
        if bool((before & surely_kept).any()):
            assert not bool(das["fm_unseen_user"][row])
    assert fm["unseen_share"]["2"] >= fm["unseen_share"]["1"] > 0


def test_merge_experiments_pools_values_over_runs(capsys, tmp_path):
    def result(seed, values):
        return {"ok": True, "command": "experiment", "seeds": [seed], "relative_ne_gain_percent": {"e1": {"mean": 0, "std": 0, "values": values}}, "ne": {}, "diagnostics": {}, "seconds": 1.0}

    first, second = tmp_path / "a.json", tmp_path / "b.jsonl"
    first.write_text(json.dumps(result(0, [1.0, 2.0])) + "\n")
    second.write_text(json.dumps(result(1, [3.0])) + "\n" + json.dumps(result(2, [6.0])) + "\n")
    code, merged = run(capsys, "merge-experiments", {"inputs": [str(first), str(second)]})
    assert code == 0 and merged["seeds"] == [0, 1, 2]
    assert merged["relative_ne_gain_percent"]["e1"]["values"] == [1.0, 2.0, 3.0, 6.0]
    assert merged["relative_ne_gain_percent"]["e1"]["mean"] == 3.0
    code, failed = run(capsys, "merge-experiments", {"inputs": "a.json"})
    assert code == 2 and "inputs" in failed["error"]


def test_experiment_reports_paired_staleness_and_drift_trends(capsys, tmp_path):
    arguments = {
        "output": str(tmp_path / "exp"), "seeds": [0], "threads": 1, "staleness": [1, 2],
        "data": {**{k: v for k, v in TINY_DATA.items() if k != "seed"}, "windows": 5, "examples_per_window": 150},
        "foundation": {"model": TINY_FM, "history_epochs": 1}, "vertical": {"model": TINY_VM, "start_window": 2},
        "claims": ["e3", "control", "fast_drift"],
    }
    code, result = run(capsys, "experiment", arguments)
    assert code == 0, result
    gains = result["relative_ne_gain_percent"]
    assert len(gains["fast_drift_adapter_vs_auxiliary_k2"]["values"]) == 2  # one per domain
    trend = result["trends"]["e3_adapter_gain_k2_minus_k1"]
    k1, k2 = gains["e3_adapter_vs_auxiliary_k1"]["values"], gains["e3_adapter_vs_auxiliary_k2"]["values"]
    assert trend["pairs"] == 2 and trend["mean"] == pytest.approx(sum(b - a for a, b in zip(k1, k2)) / 2)
    assert trend["rose"] == sum(b > a for a, b in zip(k1, k2))
    assert set(result["trends"]) == {"e3_adapter_gain_k2_minus_k1", "e3_adapter_gain_drift_minus_static_k2", "e3_adapter_gain_fast_minus_drift_k2"}
    # The fast stream drifts by the factor (2 by default) on every drift knob.
    meta = json.loads((tmp_path / "exp" / "seed0" / "data_fast" / "meta.json").read_text())["config"]
    assert meta["drift"] == pytest.approx(0.5) and meta["ctr_drift"] == pytest.approx(0.3) and meta["churn"] == pytest.approx(0.2)
    code, failed = run(capsys, "experiment", {**arguments, "fast_drift_factor": 1.0})
    assert code == 2 and "fast_drift_factor" in failed["error"]


def test_trends_pair_values_and_skip_unmatched_sides():
    from pipelines.exfm.experiment import trends

    gains = {
        "e3_adapter_vs_auxiliary_k1": {"values": [0.0, 1.0, -1.0]},
        "e3_adapter_vs_auxiliary_k4": {"values": [1.0, 1.5, 0.0]},
        "control_static_adapter_vs_auxiliary_k4": {"values": [0.0, 0.0]},  # another number of pairs: no trend
    }
    result = trends(gains, [1, 4])
    assert set(result) == {"e3_adapter_gain_k4_minus_k1"}
    trend = result["e3_adapter_gain_k4_minus_k1"]
    assert trend["mean"] == pytest.approx(2.5 / 3) and trend["rose"] == 3 and trend["pairs"] == 3
    assert trend["std"] == pytest.approx(0.2886751, rel=1e-6) and trend["t"] == pytest.approx((2.5 / 3) / (0.2886751 / 3 ** 0.5), rel=1e-6)


def test_foundation_extra_passes_and_weight_decay_change_the_fm_and_bad_values_are_refused(capsys, workspace):
    data = str(workspace / "data_fm_knobs")
    assert run(capsys, "generate-data", {**TINY_DATA, "output": data})[0] == 0
    base = {"data": data, "model": TINY_FM, "history_windows": 2, "history_epochs": 1, "staleness": [1], "threads": 1}
    fm_ne = {}
    for name, extra in (("once", {}), ("twice", {"epochs_per_window": 2}), ("decayed", {"weight_decay": 0.5})):
        code, fm = run(capsys, "train-foundation", {**base, **extra, "output": str(workspace / f"fm_{name}")})
        assert code == 0, fm
        fm_ne[name] = [w["ne"] for w in fm["fm_quality"]["1"]]
    # The first scored window reads the history snapshot, which only the optimiser's decay changes; later ones differ.
    assert fm_ne["twice"][0] == fm_ne["once"][0] and fm_ne["twice"][1] != fm_ne["once"][1]
    assert fm_ne["decayed"][0] != fm_ne["once"][0]
    for bad in ({"epochs_per_window": 0}, {"weight_decay": -0.1}):
        code, failed = run(capsys, "train-foundation", {**base, **bad, "output": str(workspace / "fm_bad")})
        assert code == 2 and next(iter(bad)) in failed["error"]
