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


def per_mode_against_zero(truth_um: torch.Tensor, predicted_um: torch.Tensor) -> dict[str, dict[str, float]]:
    """Per live mode: the model's MAE and RMSE (um) next to predicting zero for that mode, and their ratio.

    Predicting zero is what "no correction" does; a mode whose rmse_ratio_to_zero is >= 1 has not been learned
    (the model would do as well or better by leaving that mode alone).
    """
    truth, predicted = live_only(truth_um), live_only(predicted_um)
    residual = truth - predicted
    table = {}
    for index in range(truth.shape[1]):
        if index in FIXED_MODES:
            continue
        model_rmse = float(residual[:, index].square().mean().sqrt())
        zero_rmse = float(truth[:, index].square().mean().sqrt())
        table[f"{index}:{MODE_NAMES[index]}"] = {
            "mae_um": round(float(residual[:, index].abs().mean()), 5), "zero_mae_um": round(float(truth[:, index].abs().mean()), 5),
            "rmse_um": round(model_rmse, 5), "zero_rmse_um": round(zero_rmse, 5),
            # None where the data never aberrate the mode (a restricted simulation.modes): there is nothing to beat.
            "rmse_ratio_to_zero": round(model_rmse / zero_rmse, 4) if zero_rmse > 0 else None,
        }
    return table


def zero_summary(table: dict[str, dict[str, float]]) -> dict[str, Any]:
    """How many of the modes present in the data the model beats zero on, and the worst ratio."""
    ratios = {mode: row["rmse_ratio_to_zero"] for mode, row in table.items() if row["rmse_ratio_to_zero"] is not None}
    return {"modes_in_data": len(ratios), "modes_beating_zero": sum(ratio < 1 for ratio in ratios.values()),
            "worst_mode_ratio_to_zero": max(ratios.values()) if ratios else None,
            "worst_mode": max(ratios, key=ratios.get) if ratios else None}


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
        "per_mode_vs_zero": (table := per_mode_against_zero(truth, predicted)),
        **zero_summary(table),
    }
