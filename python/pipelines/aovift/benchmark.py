"""Reproduction run: Fourier ViT vs real-space CNN at equal training budget (several seeds), correction loop, profile.

    python -m pipelines.aovift.benchmark --scale cpu --out runs/aovift-bench
    python -m pipelines.aovift.benchmark --scale gpu --device cuda --out $OUT   (scripts/gpu/aovift.sh)
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch

from .aberrations import sample_aberrations
from .config import Microscope, Simulation
from .correction import correction_loop
from .dataset import Imager, load_dataset, simulate
from .metrics import evaluate_predictions
from .models import model_spec
from .profiling import profile
from .training import inputs_of, predict, save_checkpoint, train

SCALES = {
    # size, train/val samples, epochs, batch, lr, presets
    "smoke": {"size": 32, "train": 96, "val": 32, "epochs": 1, "batch": 32, "lr": 1e-3, "vit": "vit-tiny", "cnn": "cnn-tiny", "correct": 8},
    "cpu": {"size": 32, "train": 1500, "val": 300, "epochs": 8, "batch": 32, "lr": 1e-3, "vit": "vit-tiny", "cnn": "cnn-tiny", "correct": 64},
    "gpu": {"size": 64, "train": 5000, "val": 800, "epochs": 10, "batch": 128, "lr": 5e-4, "vit": "vit-gpu-t", "cnn": "cnn-gpu-t", "correct": 256},
}


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Runs the comparison and writes results.json (and kernel specs) under --out."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=sorted(SCALES), default="cpu")
    parser.add_argument("--out", required=True)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seeds", type=int, default=1, help="training seeds per model")
    parser.add_argument("--train-data", help="reuse a dataset written by simulate instead of simulating")
    parser.add_argument("--val-data")
    parser.add_argument("--epochs", type=int, help="override the scale's epochs")
    options = parser.parse_args(argv)
    scale = dict(SCALES[options.scale])
    if options.epochs:
        scale["epochs"] = options.epochs
    if options.device.startswith("cuda"):
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    os.makedirs(options.out, exist_ok=True)
    started = time.time()
    microscope, simulation = Microscope(size=scale["size"]), Simulation()
    if options.train_data:
        train_set, val_set = load_dataset(options.train_data), load_dataset(options.val_data)
    else:
        train_set = simulate(scale["train"], 1, microscope, simulation, batch=64, device=options.device, log=log)
        val_set = simulate(scale["val"], 2, microscope, simulation, batch=64, device=options.device, log=log)
    results: dict = {"scale": options.scale, "device": options.device, "torch": torch.__version__, "settings": scale,
                     "simulation_seconds": round(time.time() - started, 1), "runs": []}
    best = None
    path = os.path.join(options.out, "results.json")

    def dump() -> None:
        # Written after every stage so a run stopped by a time limit still leaves its numbers.
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=1)
    for seed in range(options.seeds):
        for kind in ("vit", "cnn"):
            spec = model_spec(scale[kind])
            if options.device.startswith("cuda"):
                torch.cuda.reset_peak_memory_stats()
            model, summary = train(spec, train_set, None, scale["epochs"], scale["batch"], scale["lr"], seed, device=options.device, log=log)
            predicted = predict(model.to(options.device), inputs_of(val_set, spec), summary["target_scale"], device=options.device)
            evaluation = evaluate_predictions(val_set.coefficients, predicted, microscope.wavelength_um)
            run = {"kind": kind, "seed": seed, "model": summary["model"], "parameters": summary["parameters"],
                   "forward_gflops_per_sample": summary["forward_flops_per_sample"] / 1e9, "train_seconds": round(summary["seconds"], 1),
                   "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30 if options.device.startswith("cuda") else None,
                   "final_train_loss": summary["history"][-1]["train_loss"],
                   "validation_residual_pv_waves": evaluation["residual_pv_waves"], "validation_mse_um2": evaluation["mse_um2"],
                   "per_mode_mae_um": evaluation["per_mode_mae_um"], "per_mode_vs_zero": evaluation["per_mode_vs_zero"],
                   "modes_beating_zero": evaluation["modes_beating_zero"], "worst_mode_ratio_to_zero": evaluation["worst_mode_ratio_to_zero"]}
            results["runs"].append(run)
            dump()
            log(f"{kind} seed {seed}: residual P-V mean {run['validation_residual_pv_waves']['mean']:.3f} waves")
            if kind == "vit" and (best is None or evaluation["mse_um2"] < best[0]):
                best = (evaluation["mse_um2"], model, spec, summary)
    results["initial_pv_waves"] = evaluate_predictions(val_set.coefficients, torch.zeros_like(val_set.coefficients), microscope.wavelength_um)["initial_pv_waves"]
    for kind in ("vit", "cnn"):
        values = [run["validation_residual_pv_waves"]["mean"] for run in results["runs"] if run["kind"] == kind]
        results[f"{kind}_residual_pv_waves_mean_over_seeds"] = sum(values) / len(values)
    _, model, spec, summary = best
    checkpoint = os.path.join(options.out, "vit.pt")
    save_checkpoint(checkpoint, model, spec, train_set, summary)
    model = model.to(options.device)
    moderate = Simulation(min_rms_um=0.05, max_rms_um=0.12)
    imager = Imager(microscope, moderate, options.device)

    def predictor(volumes: torch.Tensor, _current: torch.Tensor) -> torch.Tensor:
        return predict(model, imager.embedder(volumes), summary["target_scale"], device=options.device)

    initial = sample_aberrations(scale["correct"], moderate, torch.Generator().manual_seed(1000))
    results["correction"] = correction_loop(predictor, initial, imager, 3, 1.0, 1001, log=log)
    dump()
    model.cpu()
    results["profile"] = profile(os.path.join(options.out, "specs"), checkpoint=checkpoint, batch=16, repeats=3, log=log)
    os.remove(checkpoint)  # weights are large; the numbers are the result
    results["total_seconds"] = round(time.time() - started, 1)
    dump()
    log(f"wrote {path}")
    print(json.dumps({"ok": True, "results": path,
                      "vit": results["vit_residual_pv_waves_mean_over_seeds"], "cnn": results["cnn_residual_pv_waves_mean_over_seeds"],
                      "correction_median_per_iteration": [r["pv_waves"]["median"] for r in results["correction"]["iterations"]]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
