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
