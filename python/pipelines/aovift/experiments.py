"""Experiment drivers behind docs/aovift.md: learning-rate sweeps of models and ablations, each scored per mode against zero.

    PYTHONPATH=python .venv/bin/python -m pipelines.aovift.experiments sweep --train T.pt --val V.pt \
        --presets vit-tiny cnn2d-tiny --lrs 3e-4 1e-3 3e-3 --epochs 6 --out docs/results/cpu/aovift-sweep.jsonl

Each run appends one JSON line (model, lr, seed, train seconds, the validation evaluation with its per-mode table
against the zero predictor) so an interrupted sweep keeps what it finished.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

import torch

from .dataset import Dataset, load_dataset
from .embedding import PHASE_MODES, FourierEmbedder
from .metrics import evaluate_predictions
from .models import model_spec
from .training import inputs_of, predict, save_checkpoint, train


def log(message: str) -> None:
    """Progress on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def reembed(dataset: Dataset, phase_mode: str, batch: int = 64) -> Dataset:
    """A copy of the dataset whose embeddings are recomputed from its volumes with another phase handling."""
    embedder = FourierEmbedder(dataset.microscope, phase_mode=phase_mode)
    planes = [embedder(dataset.volumes[start:start + batch].to(torch.float32)) for start in range(0, len(dataset), batch)]
    return Dataset(dataset.coefficients, torch.cat(planes), dataset.volumes, dataset.bead_counts, dataset.microscope,
                   dataset.simulation, dataset.seed)


def zero_row(validation: Dataset) -> dict[str, Any]:
    """The evaluation of predicting zero (no correction), the reference every model is scored against."""
    return evaluate_predictions(validation.coefficients, torch.zeros_like(validation.coefficients), validation.microscope.wavelength_um)


def run_one(preset: str, lr: float, train_set: Dataset, validation: Dataset, epochs: int, batch: int, seed: int,
            embedding: str = "modulo-pi", checkpoint: str | None = None, config: dict | None = None) -> dict[str, Any]:
    """Trains one model at one learning rate and scores it on the validation set."""
    spec = model_spec(preset, config=config)
    model, summary = train(spec, train_set, None, epochs, batch, lr, seed, log=log)
    predicted = predict(model, inputs_of(validation, spec), summary["target_scale"])
    evaluation = evaluate_predictions(validation.coefficients, predicted, validation.microscope.wavelength_um)
    if checkpoint:
        save_checkpoint(checkpoint, model, spec, train_set, summary)
    return {"preset": preset, "embedding": embedding, "lr": lr, "seed": seed, "epochs": epochs, "batch": batch,
            "train_samples": len(train_set), "validation_samples": len(validation), "model": summary["model"],
            "parameters": summary["parameters"], "forward_gflops_per_sample": summary["forward_flops_per_sample"] / 1e9,
            "train_seconds": round(summary["seconds"], 1), "final_train_loss": summary["history"][-1]["train_loss"],
            "validation": evaluation}


def concatenate(datasets: list[Dataset]) -> Dataset:
    """One dataset from several simulated with the same microscope (e.g. more samples drawn with another seed)."""
    first = datasets[0]
    if len(datasets) == 1:
        return first
    if any(item.microscope != first.microscope for item in datasets):
        raise ValueError("datasets to concatenate must share the microscope")
    return Dataset(torch.cat([item.coefficients for item in datasets]), torch.cat([item.embeddings for item in datasets]),
                   torch.cat([item.volumes for item in datasets]), torch.cat([item.bead_counts for item in datasets]),
                   first.microscope, first.simulation, first.seed)


def head(dataset: Dataset, count: int | None) -> Dataset:
    """The first `count` samples of a dataset (all of them for None)."""
    if not count or count >= len(dataset):
        return dataset
    return Dataset(dataset.coefficients[:count], dataset.embeddings[:count], dataset.volumes[:count], dataset.bead_counts[:count],
                   dataset.microscope, dataset.simulation, dataset.seed)


def sweep(train_path: str, val_path: str, presets: list[str], lrs: list[float], epochs: int, batch: int, seed: int, out: str,
          embedding: str = "modulo-pi", checkpoint_dir: str | None = None, threads: int = 0, train_samples: int | None = None,
          validation_samples: int | None = None) -> list[dict[str, Any]]:
    """Every preset at every learning rate; appends a line per run (and a zero-predictor line first) to `out`."""
    if threads:
        torch.set_num_threads(threads)
    train_set = concatenate([load_dataset(path) for path in train_path.split(",")])
    train_set, validation = head(train_set, train_samples), head(load_dataset(val_path), validation_samples)
    if embedding != "modulo-pi":
        train_set, validation = reembed(train_set, embedding), reembed(validation, embedding)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    command = "python -m pipelines.aovift.experiments " + " ".join(sys.argv[1:])
    rows = []
    with open(out, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"preset": "zero", "command": command, "validation": zero_row(validation),
                                 "train_data": train_path, "validation_data": val_path}) + "\n")
        for preset in presets:
            for lr in lrs:
                started = time.time()
                path = os.path.join(checkpoint_dir, f"{preset}-{embedding}-lr{lr:g}.pt") if checkpoint_dir else None
                row = run_one(preset, lr, train_set, validation, epochs, batch, seed, embedding, path)
                row["command"] = command
                rows.append(row)
                handle.write(json.dumps(row) + "\n")
                handle.flush()
                evaluation = row["validation"]
                log(f"{preset} ({embedding}) lr {lr:g}: residual P-V {evaluation['residual_pv_waves']['mean']:.3f} waves, "
                    f"{evaluation['modes_beating_zero']}/{evaluation['modes_in_data']} modes beat zero "
                    f"(worst {evaluation['worst_mode']} {evaluation['worst_mode_ratio_to_zero']}), {time.time() - started:.0f} s")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("sweep", help="train presets at several learning rates and score them per mode")
    run.add_argument("--train", required=True, help="training dataset(s), comma-separated")
    run.add_argument("--val", required=True)
    run.add_argument("--presets", nargs="+", required=True)
    run.add_argument("--lrs", nargs="+", type=float, default=[3e-4, 1e-3, 3e-3])
    run.add_argument("--epochs", type=int, default=6)
    run.add_argument("--batch", type=int, default=32)
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--embedding", choices=PHASE_MODES, default="modulo-pi")
    run.add_argument("--checkpoints", help="folder to keep the trained checkpoints in")
    run.add_argument("--threads", type=int, default=0)
    run.add_argument("--train-samples", type=int, help="use only the first N training samples")
    run.add_argument("--val-samples", type=int, help="use only the first N validation samples")
    run.add_argument("--out", required=True)
    options = parser.parse_args(argv)
    rows = sweep(options.train, options.val, options.presets, options.lrs, options.epochs, options.batch, options.seed,
                 options.out, options.embedding, options.checkpoints, options.threads, options.train_samples, options.val_samples)
    print(json.dumps({"ok": True, "runs": len(rows), "out": options.out}))
    return 0


if __name__ == "__main__":
    sys.exit(main())


def by_initial_pv(checkpoint: str, data: str, edges: tuple[float, ...] = (0.0, 0.75, 1.5, 3.0, 5.5)) -> list[dict[str, Any]]:
    """Residual against initial P-V, in bins of the initial P-V (waves): where in the range a model helps."""
    from .training import load_checkpoint
    from .zernike import WavefrontMetrics
    model, meta = load_checkpoint(checkpoint)
    dataset = load_dataset(data)
    predicted = predict(model, inputs_of(dataset, meta["model"]), meta["target_scale"])
    metrics = WavefrontMetrics(dataset.microscope.wavelength_um)
    from .metrics import live_only
    truth = live_only(dataset.coefficients)
    initial = metrics.peak_to_valley_waves(truth)
    residual = metrics.peak_to_valley_waves(truth - predicted)
    rows = []
    for low, high in zip(edges, edges[1:]):
        chosen = (initial >= low) & (initial < high)
        if chosen.any():
            table = evaluate_predictions(dataset.coefficients[chosen], predicted[chosen], dataset.microscope.wavelength_um)
            rows.append({"initial_pv_waves": [low, high], "samples": int(chosen.sum()),
                         "initial_mean": round(float(initial[chosen].mean()), 3), "residual_mean": round(float(residual[chosen].mean()), 3),
                         "modes_beating_zero": table["modes_beating_zero"], "modes_in_data": table["modes_in_data"]})
    return rows
