"""AOViFT models, checkpoints, metrics, the correction loop and the spec emitter."""

import pytest
import torch

from pipelines.aovift.aberrations import sample_aberrations
from pipelines.aovift.config import ConfigError, Microscope, Simulation
from pipelines.aovift.correction import correction_loop
from pipelines.aovift.dataset import Imager, load_dataset, simulate
from pipelines.aovift.metrics import evaluate_predictions
from pipelines.aovift.models import build_model, count_parameters, forward_flops, model_spec
from pipelines.aovift.spec_writer import build_specs
from pipelines.aovift.training import load_checkpoint, predict, save_checkpoint, train
from pipelines.aovift.vit import Stage, VitConfig

TINY = Microscope(size=16)


def test_vit_and_cnn_shapes_and_matched_compute():
    vit = build_model(model_spec("vit-tiny"))
    cnn = build_model(model_spec("cnn-tiny"))
    assert vit(torch.randn(3, 6, 32, 32)).shape == (3, 15)
    assert cnn(torch.rand(3, 32, 32, 32)).shape == (3, 15)
    ratio = forward_flops(cnn) / forward_flops(vit)
    assert 0.8 < ratio < 1.3, ratio
    assert count_parameters(vit) > 0 and count_parameters(cnn) > 0


def test_patchify_and_merge_are_inverse_and_tokens_span_all_planes():
    stage = Stage(VitConfig(image_size=32, patches=(16, 8), blocks=(1, 1), heads=(4, 2)), 1)
    planes = torch.randn(2, 6, 32, 32)
    patches = stage.patchify(planes)
    assert patches.shape == (2, 6, 16, 64)
    assert torch.equal(patches[0, 0, 1], planes[0, 0, :8, 8:16].reshape(-1))
    assert torch.equal(stage.merge(patches, 32), planes)


def test_bad_model_configuration_is_named():
    with pytest.raises(ConfigError, match="known presets"):
        model_spec("vit-huge")
    with pytest.raises(ConfigError, match="must divide"):
        build_model(model_spec("vit-tiny", config={"heads": [5, 2]}))


@pytest.fixture(scope="module")
def tiny_data():
    simulation = Simulation(max_rms_um=0.1)
    return simulate(48, 5, TINY, simulation, batch=48, log=lambda message: None)


def test_simulation_is_deterministic_and_round_trips(tiny_data, tmp_path):
    again = simulate(48, 5, TINY, Simulation(max_rms_um=0.1), batch=48, log=lambda message: None)
    assert torch.equal(again.coefficients, tiny_data.coefficients)
    assert torch.equal(again.embeddings, tiny_data.embeddings)
    path = str(tmp_path / "data.pt")
    tiny_data.save(path)
    loaded = load_dataset(path)
    assert torch.equal(loaded.volumes, tiny_data.volumes) and loaded.microscope == TINY
    assert tiny_data.volumes.float().amax(dim=(1, 2, 3)).allclose(torch.ones(48), atol=1e-3)
    assert 1 <= int(tiny_data.bead_counts.min()) and int(tiny_data.bead_counts.max()) <= 5


def test_training_reduces_loss_and_checkpoint_round_trips(tiny_data, tmp_path):
    spec = model_spec(kind="vit", config={"image_size": 16, "patches": [8, 4], "blocks": [1, 1], "heads": [2, 2]})
    model, summary = train(spec, tiny_data, None, epochs=4, batch=16, lr=2e-3, seed=0, log=lambda message: None)
    history = summary["history"]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    path = str(tmp_path / "model.pt")
    save_checkpoint(path, model, spec, tiny_data, summary)
    loaded, checkpoint = load_checkpoint(path)
    expected = predict(model, tiny_data.embeddings, summary["target_scale"])
    assert torch.equal(predict(loaded, tiny_data.embeddings, checkpoint["target_scale"]), expected)
    assert checkpoint["microscope"] == TINY
    with pytest.raises(ConfigError, match="not found"):
        load_checkpoint(str(tmp_path / "missing.pt"))


def test_metrics_of_perfect_and_of_zero_predictions():
    truth = sample_aberrations(32, Simulation(min_rms_um=0.05, max_rms_um=0.1), torch.Generator().manual_seed(1))
    perfect = evaluate_predictions(truth, truth, 0.51)
    assert perfect["residual_pv_waves"]["mean"] == pytest.approx(0.0, abs=1e-6)
    assert perfect["residual_pv_waves"]["fraction_below_0_25"] == 1.0
    assert perfect["strehl_marechal_mean"] == pytest.approx(1.0)
    zero = evaluate_predictions(truth, torch.zeros_like(truth), 0.51)
    assert zero["residual_pv_waves"]["mean"] == pytest.approx(zero["initial_pv_waves"]["mean"])
    assert zero["residual_pv_waves"]["mean"] > 0.3
    assert set(zero["per_mode_mae_um"]) == {"3:astigmatism-oblique", "5:astigmatism-vertical", "6:trefoil-vertical", "7:coma-vertical",
                                            "8:coma-horizontal", "9:trefoil-oblique", "10:quadrafoil-oblique", "11:secondary-astigmatism-oblique",
                                            "12:spherical", "13:secondary-astigmatism-vertical", "14:quadrafoil-vertical"}


def test_correction_loop_with_an_oracle_converges_geometrically():
    simulation = Simulation(min_rms_um=0.08, max_rms_um=0.12)
    imager = Imager(TINY, simulation)
    initial = sample_aberrations(8, simulation, torch.Generator().manual_seed(2))
    oracle = lambda volumes, current: current  # noqa: E731 - knows the aberration exactly
    result = correction_loop(oracle, initial, imager, iterations=3, gain=0.5, seed=0)
    medians = [round_["pv_waves"]["median"] for round_ in result["iterations"]]
    assert len(medians) == 4 and medians[0] > 0.5
    for before, after in zip(medians, medians[1:]):
        assert after == pytest.approx(0.5 * before, rel=1e-3)
    wrong_sign = correction_loop(lambda volumes, current: -current, initial, imager, iterations=1, gain=1.0, seed=0)
    assert wrong_sign["final_pv_waves"]["median"] == pytest.approx(2 * medians[0], rel=1e-3)


def test_emitted_spec_references_run_at_their_smallest_size():
    specs = build_specs(32, [16, 8], [4, 2], batch=4)
    assert [spec["id"] for spec in specs] == ["aovift-otf-fft3d", "aovift-patch-embed", "aovift-attention", "aovift-mlp-block"]
    for spec in specs:
        sizes = list(spec["sizes"].values())
        assert len(sizes) >= 2
        dims = sizes[0]
        shape = lambda expression: [eval(str(d).replace("/", "//"), {}, dims) for d in expression]  # noqa: E731
        namespace: dict = {}
        exec(spec["reference"], namespace)
        inputs = [torch.randn(shape(tensor["shape"])) for tensor in spec["inputs"]]
        outputs = namespace["reference"](*inputs, **spec["scalars"])
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        assert [list(out.shape) for out in outputs] == [shape(tensor["shape"]) for tensor in spec["outputs"]], spec["id"]
    patch = specs[1]
    assert patch["sizes"]["profiled-stage1"] == {"B": 4, "P": 6, "S": 32, "Q": 16}
    assert specs[2]["sizes"]["profiled-stage2"] == {"B": 4, "H": 2, "T": 96, "E": 32}
