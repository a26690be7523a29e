"""Markdown tables from the AOViFT experiment JSON lines (docs/results/cpu/aovift-*.jsonl): one row per run, and the
per-mode RMSE ratio to the zero predictor of the best learning rate of each preset.

    .venv/bin/python scripts/aovift/summarise.py docs/results/cpu/aovift-sweep.jsonl [more.jsonl ...]
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
from pipelines.aovift.models import model_input_kind, model_spec  # noqa: E402


def input_of(run):
    """'raw volume' for real-space models, else the embedding's phase handling."""
    return "raw volume" if model_input_kind(model_spec(run["preset"])) == "volumes" else f"embedding, phase {run['embedding']}"


def rows(paths):
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield json.loads(line)


def main(paths):
    runs = [row for row in rows(paths) if row.get("preset") != "zero"]
    zero = next(row for row in rows(paths) if row.get("preset") == "zero")["validation"]
    print("| Model | Input | lr | seed | Residual P-V mean (waves) | median | <= 0.25 | Modes beating zero | Worst mode (ratio) | Train s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(f"| no correction (zero) | - | - | - | {zero['residual_pv_waves']['mean']:.3f} | {zero['residual_pv_waves']['median']:.3f} | "
          f"{zero['residual_pv_waves']['fraction_below_0_25']:.0%} | - | - | - |")
    best = {}
    for run in runs:
        v = run["validation"]
        key = (run["preset"], run["embedding"], run.get("seed", 0))
        if key not in best or v["mse_um2"] < best[key]["validation"]["mse_um2"]:
            best[key] = run
        print(f"| {run['preset']} | {input_of(run)} | {run['lr']:g} | {run['seed']} | {v['residual_pv_waves']['mean']:.3f} | "
              f"{v['residual_pv_waves']['median']:.3f} | {v['residual_pv_waves']['fraction_below_0_25']:.0%} | "
              f"{v['modes_beating_zero']}/{v['modes_in_data']} | {v['worst_mode']} ({v['worst_mode_ratio_to_zero']:.3f}) | {run['train_seconds']:.0f} |")
    print()
    modes = list(zero["per_mode_vs_zero"])
    print("| Mode | zero RMSE (um) | " + " | ".join(f"{p}{' (full phase)' if e == 'full' else ''} lr {r['lr']:g}{f' seed {seed}' if seed else ''}" for (p, e, seed), r in best.items()) + " |")
    print("|---|---|" + "---|" * len(best))
    for mode in modes:
        cells = [f"{r['validation']['per_mode_vs_zero'][mode]['rmse_ratio_to_zero']:.2f}" for r in best.values()]
        print(f"| {mode} | {zero['per_mode_vs_zero'][mode]['zero_rmse_um']:.4f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
