"""Issue 17: the correction loop's deformable mirror has a fitting error (modes it cannot make) and a calibration error."""
import pytest
import torch

from pipelines.aovift.aberrations import sample_aberrations
from pipelines.aovift.config import ConfigError, Microscope, Simulation
from pipelines.aovift.correction import Mirror, correction_loop
from pipelines.aovift.dataset import Imager
from pipelines.aovift.zernike import WavefrontMetrics

TINY = Microscope(size=16)
SIMULATION = Simulation(min_rms_um=0.08, max_rms_um=0.12)
IMAGER = Imager(TINY, SIMULATION)
INITIAL = sample_aberrations(8, SIMULATION, torch.Generator().manual_seed(2))
ORACLE = lambda volumes, current: current  # noqa: E731 - knows the aberration exactly


def test_an_oracle_with_a_limited_mirror_stops_at_the_fitting_error_floor():
    mirror = Mirror(max_mode=10)
    result = correction_loop(ORACLE, INITIAL, IMAGER, iterations=2, gain=1.0, seed=0, mirror=mirror)
    floor = WavefrontMetrics(TINY.wavelength_um).peak_to_valley_waves(mirror.unreachable(INITIAL))
    assert result["mirror"]["reachable_live_modes"] == [3, 5, 6, 7, 8, 9, 10]
    assert floor.median() > 0.05  # modes 11-14 carry part of the aberration
    assert result["final_pv_waves"]["median"] == pytest.approx(float(floor.median()), rel=1e-4)
    assert result["fitting_error_floor_pv_waves"]["median"] == pytest.approx(float(floor.median()), rel=1e-4)
    # The loop keeps pushing on the modes it cannot reach: the commands grow, the residual does not move.
    assert result["iterations"][1]["pv_waves"]["median"] == pytest.approx(result["iterations"][2]["pv_waves"]["median"], rel=1e-4)


def test_calibration_error_slows_but_does_not_stop_an_integrating_loop():
    mirror = Mirror(calibration_error=0.2, seed=3)
    assert not torch.allclose(mirror.response[3:], torch.ones(12))  # modes are made with the wrong amplitude
    result = correction_loop(ORACLE, INITIAL, IMAGER, iterations=4, gain=0.7, seed=0, mirror=mirror)
    medians = [round_["pv_waves"]["median"] for round_ in result["iterations"]]
    perfect = correction_loop(ORACLE, INITIAL, IMAGER, iterations=1, gain=1.0, seed=0)
    assert perfect["final_pv_waves"]["median"] < 1e-6  # a perfect mirror and an oracle finish in one step
    assert medians[1] > 1e-3  # a miscalibrated one does not...
    assert all(after < before for before, after in zip(medians, medians[1:]))  # ...but keeps converging
    assert medians[-1] < 0.1 * medians[0]


def test_bad_mirror_settings_are_config_errors():
    with pytest.raises(ConfigError, match="max_mode"):
        Mirror(max_mode=15)
    with pytest.raises(ConfigError, match="calibration_error"):
        Mirror(calibration_error=1.5)
