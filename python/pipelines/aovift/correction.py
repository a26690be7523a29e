"""Simulated closed-loop correction: a deformable mirror applies the negative prediction, the sample is re-imaged, repeat."""
from __future__ import annotations

from typing import Callable

import torch

from .dataset import Imager
from .imaging import place_beads
from .metrics import live_only, summarise_waves
from .zernike import WavefrontMetrics

# A predictor maps (preprocessed volumes, the aberration currently in the system) to predicted coefficients in um.
# Real predictors ignore the second argument; the oracle used in tests reads it.
Predictor = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def correction_loop(predictor: Predictor, initial_um: torch.Tensor, imager: Imager, iterations: int, gain: float,
                    seed: int, log=None) -> dict:
    """Runs `iterations` rounds of image -> predict -> mirror -= gain * prediction; reports P-V per round (round 0 = uncorrected)."""
    if iterations < 1 or not 0 < gain <= 1.5:
        raise ValueError("iterations must be >= 1 and gain in (0, 1.5]")
    generator = torch.Generator().manual_seed(seed)
    metrics = WavefrontMetrics(imager.microscope.wavelength_um)
    beads = place_beads(initial_um.shape[0], imager.microscope, imager.simulation, generator)
    aberration = live_only(initial_um)
    mirror = torch.zeros_like(aberration)
    rounds = []
    for round_index in range(iterations + 1):
        residual = aberration + mirror
        waves = metrics.peak_to_valley_waves(residual)
        rounds.append({"iteration": round_index, "pv_waves": summarise_waves(waves), "pv_waves_per_sample": [round(float(v), 4) for v in waves[:16]]})
        if log:
            log(f"correct: iteration {round_index}: median residual {rounds[-1]['pv_waves']['median']:.3f} waves")
        if round_index == iterations:
            break
        volumes = imager.image(residual, beads, generator)
        mirror = mirror - gain * live_only(predictor(volumes, residual))
    return {"iterations": rounds, "final_pv_waves": rounds[-1]["pv_waves"], "gain": gain, "samples": int(initial_um.shape[0])}
