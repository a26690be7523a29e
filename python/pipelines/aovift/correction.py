"""Simulated closed-loop correction: a deformable mirror applies the negative prediction, the sample is re-imaged, repeat.

The mirror is not perfect (`Mirror`): it reproduces only the Zernike modes up to `max_mode` (higher ones stay in the
system as a fitting error no loop can remove), and each mode it does reproduce is applied with a fixed relative
calibration error (drawn once per mirror). The loop integrates: mirror <- mirror - gain * prediction.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from .config import ConfigError
from .dataset import Imager
from .imaging import place_beads
from .metrics import live_only, summarise_waves
from .zernike import LIVE_MODES, NUM_MODES, WavefrontMetrics

# A predictor maps (preprocessed volumes, the aberration currently in the system) to predicted coefficients in um.
# Real predictors ignore the second argument; the oracle used in tests reads it.
Predictor = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class Mirror:
    """A deformable mirror that reproduces modes <= max_mode, each with a fixed relative error of std calibration_error."""

    max_mode: int = NUM_MODES - 1
    calibration_error: float = 0.0
    seed: int = 0

    def __post_init__(self):
        if not 0 <= self.max_mode < NUM_MODES:
            raise ConfigError(f"mirror max_mode must be in [0, {NUM_MODES - 1}], got {self.max_mode}")
        if not 0 <= self.calibration_error < 1:
            raise ConfigError(f"mirror calibration_error must be in [0, 1), got {self.calibration_error}")
        reachable = torch.tensor([float(index <= self.max_mode) for index in range(NUM_MODES)])
        errors = torch.randn(NUM_MODES, generator=torch.Generator().manual_seed(self.seed)) * self.calibration_error
        self.response = reachable * (1 + errors)  # applied shape per unit command, per mode

    def apply(self, command_um: torch.Tensor) -> torch.Tensor:
        """The wavefront (um, per mode) the mirror actually makes for a command."""
        return command_um * self.response

    def unreachable(self, aberration_um: torch.Tensor) -> torch.Tensor:
        """The part of an aberration the mirror cannot reproduce (its fitting error floor)."""
        return aberration_um * (self.response == 0)


def correction_loop(predictor: Predictor, initial_um: torch.Tensor, imager: Imager, iterations: int, gain: float,
                    seed: int, log=None, mirror: Mirror | None = None) -> dict:
    """Runs `iterations` rounds of image -> predict -> command -= gain * prediction; reports P-V per round (round 0 = uncorrected)."""
    if iterations < 1 or not 0 < gain <= 1.5:
        raise ValueError("iterations must be >= 1 and gain in (0, 1.5]")
    mirror = mirror or Mirror()
    generator = torch.Generator().manual_seed(seed)
    metrics = WavefrontMetrics(imager.microscope.wavelength_um)
    beads = place_beads(initial_um.shape[0], imager.microscope, imager.simulation, generator)
    aberration = live_only(initial_um)
    command = torch.zeros_like(aberration)
    floor = metrics.peak_to_valley_waves(mirror.unreachable(aberration))
    rounds = []
    for round_index in range(iterations + 1):
        residual = aberration + mirror.apply(command)
        waves = metrics.peak_to_valley_waves(residual)
        rounds.append({"iteration": round_index, "pv_waves": summarise_waves(waves), "pv_waves_per_sample": [round(float(v), 4) for v in waves[:16]]})
        if log:
            log(f"correct: iteration {round_index}: median residual {rounds[-1]['pv_waves']['median']:.3f} waves")
        if round_index == iterations:
            break
        volumes = imager.image(residual, beads, generator)
        command = command - gain * live_only(predictor(volumes, residual))
    return {"iterations": rounds, "final_pv_waves": rounds[-1]["pv_waves"], "gain": gain, "samples": int(initial_um.shape[0]),
            "mirror": {"max_mode": mirror.max_mode, "calibration_error": mirror.calibration_error, "seed": mirror.seed,
                       "reachable_live_modes": [mode for mode in LIVE_MODES if mode <= mirror.max_mode]},
            "fitting_error_floor_pv_waves": summarise_waves(floor)}
