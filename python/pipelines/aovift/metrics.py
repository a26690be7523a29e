"""Accuracy of predicted aberrations: residual peak-to-valley in waves, per-mode error, Maréchal Strehl."""
from __future__ import annotations

from typing import Any

import torch

from .zernike import FIXED_MODES, MODE_NAMES, WavefrontMetrics, marechal_strehl

DIFFRACTION_LIMIT_WAVES = 0.25


def live_only(coefficients: torch.Tensor) -> torch.Tensor:
    """Copy with piston, tip, tilt and defocus set to zero (they are not corrected)."""
    result = torch.as_tensor(coefficients, dtype=torch.float32).clone()
    result[..., list(FIXED_MODES)] = 0
    return result


def summarise_waves(values: torch.Tensor) -> dict[str, float]:
    """Mean, median, 90th percentile and the fraction at or below 0.25 waves."""
    values = values.to(torch.float32)
    return {
        "mean": float(values.mean()), "median": float(values.median()),
        "p90": float(torch.quantile(values, 0.9)) if values.numel() > 1 else float(values.max()),
        "fraction_below_0_25": float((values <= DIFFRACTION_LIMIT_WAVES).to(torch.float32).mean()),
    }


def evaluate_predictions(truth_um: torch.Tensor, predicted_um: torch.Tensor, wavelength_um: float,
                         metrics: WavefrontMetrics | None = None) -> dict[str, Any]:
    """Residual P-V (waves) before/after correction, per-mode mean absolute error (um), RMS and Strehl summaries."""
    truth, predicted = live_only(truth_um), live_only(predicted_um)
    if truth.shape != predicted.shape:
        raise ValueError(f"truth {tuple(truth.shape)} and prediction {tuple(predicted.shape)} differ in shape")
    metrics = metrics or WavefrontMetrics(wavelength_um)
    residual = truth - predicted
    per_mode = (residual.abs().mean(dim=0)).tolist()
    return {
        "samples": int(truth.shape[0]),
        "initial_pv_waves": summarise_waves(metrics.peak_to_valley_waves(truth)),
        "residual_pv_waves": summarise_waves(metrics.peak_to_valley_waves(residual)),
        "residual_rms_um_mean": float(torch.linalg.vector_norm(residual, dim=1).mean()),
        "strehl_marechal_mean": float(marechal_strehl(residual, wavelength_um).mean()),
        "per_mode_mae_um": {f"{index}:{MODE_NAMES[index]}": round(value, 5) for index, value in enumerate(per_mode)
                            if index not in FIXED_MODES},
        "mse_um2": float(residual.square().mean()),
    }
