"""Command line: `python -m pipelines.aovift <command> --args-json '{...}'` (pipelines/command_line.py: one JSON
result line last on stdout, progress on stderr). The table COMMANDS declares each command's arguments; the
functions below receive them checked, with the table's defaults filled in."""
from __future__ import annotations

import os
import time
from typing import Any

import torch

from ..command_line import REQUIRED, Argument, Command, log
from ..command_line import main as run_command_line
from ..kernels.commands import SWAP_ARGUMENTS
from .config import ConfigError, microscope_from, simulation_from, to_dict
from .correction import Mirror, correction_loop
from .dataset import Imager, load_dataset, simulate
from .metrics import evaluate_predictions
from .models import model_input_kind, model_spec
from .training import check_compatible, inputs_of, load_checkpoint, predict, save_checkpoint, train


def command_simulate(args: dict[str, Any]) -> dict[str, Any]:
    microscope = microscope_from(args["microscope"])
    simulation = simulation_from(args["simulation"])
    started = time.time()
    dataset = simulate(args["samples"], args["seed"], microscope, simulation, device=args["device"], log=log)
    dataset.save(args["out"])
    summary = evaluate_predictions(dataset.coefficients, torch.zeros_like(dataset.coefficients), microscope.wavelength_um)
    return {"dataset": os.path.abspath(args["out"]), "samples": args["samples"], "seed": args["seed"], "size": microscope.size,
            "initial_pv_waves": summary["initial_pv_waves"], "mean_beads": float(dataset.bead_counts.float().mean()),
            "seconds": round(time.time() - started, 2), "microscope": to_dict(microscope)}


def command_train(args: dict[str, Any]) -> dict[str, Any]:
    spec = model_spec(args["preset"], args["kind"], args["config"])
    train_set = load_dataset(args["data"])
    validation_set = load_dataset(args["validation"]) if args["validation"] else None
    device = args["device"]
    model, summary = train(spec, train_set, validation_set, args["epochs"], args["batch"], args["lr"], args["seed"],
                           args["target_scale"], device=device, log=log)
    save_checkpoint(args["out"], model, spec, train_set, summary)
    result = {"checkpoint": os.path.abspath(args["out"]), **{key: value for key, value in summary.items() if key != "history"}}
    result["history"] = summary["history"][-3:]
    if validation_set is not None:
        predicted = predict(model.to(device), inputs_of(validation_set, spec), summary["target_scale"], device=device)
        result["validation"] = evaluate_predictions(validation_set.coefficients, predicted, validation_set.microscope.wavelength_um)
    return result


def _checkpoint_and_data(args: dict[str, Any]):
    model, checkpoint = load_checkpoint(args["checkpoint"])
    dataset = load_dataset(args["data"])
    check_compatible(model, dataset)
    return model, checkpoint, dataset


def command_evaluate(args: dict[str, Any]) -> dict[str, Any]:
    model, checkpoint, dataset = _checkpoint_and_data(args)
    predicted = predict(model, inputs_of(dataset, checkpoint["model"]), checkpoint["target_scale"])
    return {"checkpoint": args["checkpoint"], "model": checkpoint["summary"]["model"],
            **evaluate_predictions(dataset.coefficients, predicted, dataset.microscope.wavelength_um)}


def command_predict(args: dict[str, Any]) -> dict[str, Any]:
    model, checkpoint, dataset = _checkpoint_and_data(args)
    limit, evaluate = args["limit"], args["evaluate"]
    inputs = inputs_of(dataset, checkpoint["model"])
    predicted = predict(model, inputs if evaluate else inputs[:limit], checkpoint["target_scale"])
    result = {"model": checkpoint["summary"]["model"], "units": "um RMS, ANSI modes 0-14",
              "predictions": [[round(float(v), 5) for v in row] for row in predicted[:limit]],
              "truth": [[round(float(v), 5) for v in row] for row in dataset.coefficients[:limit]]}
    if evaluate:
        result["evaluation"] = evaluate_predictions(dataset.coefficients, predicted, dataset.microscope.wavelength_um)
    return result


def command_correct(args: dict[str, Any]) -> dict[str, Any]:
    model, checkpoint = load_checkpoint(args["checkpoint"])
    microscope, simulation = checkpoint["microscope"], checkpoint["simulation"]
    if args["simulation"]:
        simulation = simulation_from({**to_dict(simulation), **args["simulation"]})
    samples, seed = args["samples"], args["seed"]
    from .aberrations import sample_aberrations
    initial = sample_aberrations(samples, simulation, torch.Generator().manual_seed(seed))
    imager = Imager(microscope, simulation)
    kind = model_input_kind(checkpoint["model"])

    def predictor(volumes: torch.Tensor, _current: torch.Tensor) -> torch.Tensor:
        inputs = imager.embedder(volumes) if kind == "embeddings" else volumes
        return predict(model, inputs, checkpoint["target_scale"])

    mirror = Mirror(args["mirror_max_mode"], args["mirror_calibration_error"], seed)
    result = correction_loop(predictor, initial, imager, args["iterations"], args["gain"], seed + 1, log=log, mirror=mirror)
    return {"model": checkpoint["summary"]["model"], **result}


def command_profile(args: dict[str, Any]) -> dict[str, Any]:
    from .profiling import profile
    return profile(checkpoint=args["checkpoint"], preset=args["preset"], batch=args["batch"], out_dir=args["out_dir"],
                   repeats=args["repeats"], log=log, max_specs=args["max_specs"], min_share=args["min_share"],
                   top_operators=args["top_operators"], min_operator_share=args["min_operator_share"])


def command_swap(args: dict[str, Any]) -> dict[str, Any]:
    from ..kernels.commands import swap_command
    return swap_command("aovift", {"options": args["options"], "kernels": args["kernels"], "runs": args["runs"], "language": args["language"],
                                   "seeds": args["seeds"], "rounds": args["rounds"], "atol": args["atol"], "rtol": args["rtol"],
                                   "device": args["device"]})


_MICROSCOPE = Argument("microscope", "object", {}, "Microscope fields over the defaults (docs/aovift.md)")
_SIMULATION = Argument("simulation", "object", {}, "Simulation fields over the defaults: aberration range, beads, noise")
_DEVICE = Argument("device", "str", "cpu", "torch device, e.g. cpu or cuda")
_CHECKPOINT = Argument("checkpoint", "str", REQUIRED, "checkpoint written by train")
_DATASET = Argument("data", "str", REQUIRED, "dataset written by simulate")

COMMANDS: tuple[Command, ...] = (
    Command("simulate", "Simulate a dataset of aberrated bead volumes with their Zernike coefficients.", command_simulate, (
        Argument("out", "str", REQUIRED, "file to write the dataset to"),
        Argument("samples", "int", 256, "number of volumes", minimum=1),
        Argument("seed", "int", 0, "random seed"),
        _MICROSCOPE, _SIMULATION, _DEVICE)),
    Command("train", "Train a ViT or CNN that predicts the aberration from a volume.", command_train, (
        Argument("data", "str", REQUIRED, "training dataset written by simulate"),
        Argument("validation", "str", None, "validation dataset, evaluated after training"),
        Argument("out", "str", REQUIRED, "checkpoint file to write"),
        Argument("preset", "str", None, "vit-tiny, vit-small, vit-gpu-t, cnn-tiny, cnn-small or cnn-gpu-t"),
        Argument("kind", "str", None, "vit or cnn, with config, instead of a preset"),
        Argument("config", "object", None, "model configuration (over the preset's, if one is given)"),
        Argument("epochs", "int", 5, "passes over the training set", minimum=1),
        Argument("batch", "int", 64, "batch size", minimum=1),
        Argument("lr", "float", 1e-3, "learning rate"),
        Argument("seed", "int", 0, "random seed"),
        Argument("target_scale", "float", 0.1, "coefficients are divided by this (um) for training"),
        _DEVICE)),
    Command("evaluate", "Score a checkpoint on a dataset (residual wavefront error, peak-to-valley).", command_evaluate, (
        _CHECKPOINT, _DATASET)),
    Command("predict", "Print a checkpoint's predicted coefficients next to the true ones.", command_predict, (
        _CHECKPOINT, _DATASET,
        Argument("limit", "int", 8, "rows to print", minimum=1),
        Argument("evaluate", "bool", False, "also score every row of the dataset"))),
    Command("correct", "Run the closed correction loop (simulated deformable mirror) with a checkpoint.", command_correct, (
        _CHECKPOINT,
        Argument("samples", "int", 64, "aberrations to correct", minimum=1),
        Argument("seed", "int", 1000, "random seed"),
        Argument("iterations", "int", 3, "correction rounds", minimum=1),
        Argument("mirror_max_mode", "int", 14, "highest ANSI mode the deformable mirror reproduces (higher ones stay: fitting error)", minimum=0),
        Argument("mirror_calibration_error", "float", 0.0, "relative error (std) of each reproduced mode, fixed per mirror", minimum=0.0),
        Argument("gain", "float", 1.0, "mirror update = gain x prediction"),
        _SIMULATION)),
    Command("profile", "Profile a model's forward pass and write kernel specs for its hottest operators.", command_profile, (
        Argument("checkpoint", "str", None, "checkpoint to profile, instead of a preset"),
        Argument("preset", "str", "vit-tiny", "model preset to profile when no checkpoint is given"),
        Argument("batch", "int", 16, "batch size", minimum=1),
        Argument("out_dir", "str", REQUIRED, "folder for the spec files"),
        Argument("repeats", "int", 3, "timed repetitions", minimum=1),
        Argument("max_specs", "int", 4, "write specs for at most this many of the hottest regions", minimum=1),
        Argument("min_share", "float", 0.0, "skip regions below this share of the measured pipeline time"),
        Argument("top_operators", "int", 6, "write specs for this many of the operators measured hottest (training + inference steps)", minimum=1),
        Argument("min_operator_share", "float", 0.02, "skip operators below this share of the measured operator time"))),
    Command("swap", "Swap optimised kernels (max pool, unwrap Poisson solve) into the training and inference steps: outputs checked, "
            "step times before and after.", command_swap, SWAP_ARGUMENTS),
)


def main(argv: list[str] | None = None) -> int:
    """Runs one command (see pipelines/command_line.py): exit 0 with its result line, 2 for bad input, 1 for a failure."""
    return run_command_line("python -m pipelines.aovift", "AOViFT pipeline: simulate, train, predict, correct, profile.",
                            COMMANDS, argv, input_errors=(ConfigError,))
