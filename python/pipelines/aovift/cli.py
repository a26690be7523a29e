"""Command line: `python -m pipelines.aovift <command> --args-json '{...}'`; one JSON result line last on stdout, progress on stderr."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from typing import Any, Callable

import torch

from ..command_line import REQUIRED, Command, JsonArgument, build_parser
from .config import ConfigError, microscope_from, simulation_from, to_dict
from .correction import correction_loop
from .dataset import Imager, load_dataset, simulate
from .metrics import evaluate_predictions
from .models import model_input_kind, model_spec
from .training import check_compatible, inputs_of, load_checkpoint, predict, save_checkpoint, train


def log(message: str) -> None:
    """Progress goes to stderr so stdout stays one JSON line."""
    print(message, file=sys.stderr, flush=True)


class Arguments:
    """Reads typed fields from the JSON arguments, naming the field in every error and rejecting unknown ones."""

    def __init__(self, values: dict[str, Any], command: str, known: set[str]):
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"{command}: unknown argument(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        self.values, self.command = values, command

    def get(self, name: str, kind: type, default: Any = None, required: bool = False, minimum: float | None = None) -> Any:
        if name not in self.values or self.values[name] is None:
            if required:
                raise ConfigError(f"{self.command}: missing required argument '{name}'")
            return default
        value = self.values[name]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise ConfigError(f"{self.command}: argument '{name}' must be {kind.__name__}, got {json.dumps(value)}")
        if minimum is not None and value < minimum:
            raise ConfigError(f"{self.command}: argument '{name}' must be >= {minimum}, got {value}")
        return value


def command_simulate(arguments: Arguments) -> dict[str, Any]:
    out = arguments.get("out", str, required=True)
    samples = arguments.get("samples", int, 256, minimum=1)
    seed = arguments.get("seed", int, 0)
    microscope = microscope_from(arguments.get("microscope", dict, {}))
    simulation = simulation_from(arguments.get("simulation", dict, {}))
    started = time.time()
    dataset = simulate(samples, seed, microscope, simulation, device=arguments.get("device", str, "cpu"), log=log)
    dataset.save(out)
    summary = evaluate_predictions(dataset.coefficients, torch.zeros_like(dataset.coefficients), microscope.wavelength_um)
    return {"dataset": os.path.abspath(out), "samples": samples, "seed": seed, "size": microscope.size,
            "initial_pv_waves": summary["initial_pv_waves"], "mean_beads": float(dataset.bead_counts.float().mean()),
            "seconds": round(time.time() - started, 2), "microscope": to_dict(microscope)}


def command_train(arguments: Arguments) -> dict[str, Any]:
    spec = model_spec(arguments.get("preset", str), arguments.get("kind", str), arguments.get("config", dict))
    train_set = load_dataset(arguments.get("data", str, required=True))
    validation = arguments.get("validation", str)
    validation_set = load_dataset(validation) if validation else None
    device = arguments.get("device", str, "cpu")
    model, summary = train(spec, train_set, validation_set, arguments.get("epochs", int, 5, minimum=1), arguments.get("batch", int, 64, minimum=1),
                           arguments.get("lr", float, 1e-3), arguments.get("seed", int, 0), arguments.get("target_scale", float, 0.1),
                           device=device, log=log)
    out = arguments.get("out", str, required=True)
    save_checkpoint(out, model, spec, train_set, summary)
    result = {"checkpoint": os.path.abspath(out), **{key: value for key, value in summary.items() if key != "history"}}
    result["history"] = summary["history"][-3:]
    if validation_set is not None:
        predicted = predict(model.to(device), inputs_of(validation_set, spec), summary["target_scale"], device=device)
        result["validation"] = evaluate_predictions(validation_set.coefficients, predicted, validation_set.microscope.wavelength_um)
    return result


def _checkpoint_and_data(arguments: Arguments):
    model, checkpoint = load_checkpoint(arguments.get("checkpoint", str, required=True))
    dataset = load_dataset(arguments.get("data", str, required=True))
    check_compatible(model, dataset)
    return model, checkpoint, dataset


def command_evaluate(arguments: Arguments) -> dict[str, Any]:
    model, checkpoint, dataset = _checkpoint_and_data(arguments)
    predicted = predict(model, inputs_of(dataset, checkpoint["model"]), checkpoint["target_scale"])
    return {"checkpoint": arguments.get("checkpoint", str), "model": checkpoint["summary"]["model"],
            **evaluate_predictions(dataset.coefficients, predicted, dataset.microscope.wavelength_um)}


def command_predict(arguments: Arguments) -> dict[str, Any]:
    model, checkpoint, dataset = _checkpoint_and_data(arguments)
    limit = arguments.get("limit", int, 8, minimum=1)
    evaluate = arguments.get("evaluate", bool, False)
    inputs = inputs_of(dataset, checkpoint["model"])
    predicted = predict(model, inputs if evaluate else inputs[:limit], checkpoint["target_scale"])
    result = {"model": checkpoint["summary"]["model"], "units": "um RMS, ANSI modes 0-14",
              "predictions": [[round(float(v), 5) for v in row] for row in predicted[:limit]],
              "truth": [[round(float(v), 5) for v in row] for row in dataset.coefficients[:limit]]}
    if evaluate:
        result["evaluation"] = evaluate_predictions(dataset.coefficients, predicted, dataset.microscope.wavelength_um)
    return result


def command_correct(arguments: Arguments) -> dict[str, Any]:
    model, checkpoint = load_checkpoint(arguments.get("checkpoint", str, required=True))
    microscope, simulation = checkpoint["microscope"], checkpoint["simulation"]
    overrides = arguments.get("simulation", dict, {})
    if overrides:
        simulation = simulation_from({**to_dict(simulation), **overrides})
    samples, seed = arguments.get("samples", int, 64, minimum=1), arguments.get("seed", int, 1000)
    from .aberrations import sample_aberrations
    initial = sample_aberrations(samples, simulation, torch.Generator().manual_seed(seed))
    imager = Imager(microscope, simulation)
    kind = model_input_kind(checkpoint["model"])

    def predictor(volumes: torch.Tensor, _current: torch.Tensor) -> torch.Tensor:
        inputs = imager.embedder(volumes) if kind == "embeddings" else volumes
        return predict(model, inputs, checkpoint["target_scale"])

    result = correction_loop(predictor, initial, imager, arguments.get("iterations", int, 3, minimum=1),
                             arguments.get("gain", float, 1.0), seed + 1, log=log)
    return {"model": checkpoint["summary"]["model"], **result}


def command_profile(arguments: Arguments) -> dict[str, Any]:
    from .profiling import profile
    return profile(
        checkpoint=arguments.get("checkpoint", str), preset=arguments.get("preset", str, "vit-tiny"),
        batch=arguments.get("batch", int, 16, minimum=1), out_dir=arguments.get("out_dir", str, required=True),
        repeats=arguments.get("repeats", int, 3, minimum=1), log=log,
        max_specs=arguments.get("max_specs", int, 4, minimum=1), min_share=arguments.get("min_share", float, 0.0))


def _argument(name: str, kind: str, default: Any = None, help: str = "") -> JsonArgument:
    return JsonArgument(name, kind, default, help)


_MICROSCOPE = _argument("microscope", "object", {}, "Microscope fields over the defaults (docs/aovift.md)")
_SIMULATION = _argument("simulation", "object", {}, "Simulation fields over the defaults: aberration range, beads, noise")
_DEVICE = _argument("device", "str", "cpu", "torch device, e.g. cpu or cuda")

# The JSON arguments of each command (what Arguments accepts and --help lists); the defaults are those
# the command functions above apply (tests/python/test_pipeline_cli.py checks that they agree).
ARGUMENTS: dict[str, Command] = {
    "simulate": Command("Simulate a dataset of aberrated bead volumes with their Zernike coefficients.", (
        _argument("out", "str", REQUIRED, "file to write the dataset to"),
        _argument("samples", "int", 256, "number of volumes (>= 1)"),
        _argument("seed", "int", 0, "random seed"),
        _MICROSCOPE, _SIMULATION, _DEVICE)),
    "train": Command("Train a ViT or CNN that predicts the aberration from a volume.", (
        _argument("data", "str", REQUIRED, "training dataset written by simulate"),
        _argument("validation", "str", None, "validation dataset, evaluated after training"),
        _argument("out", "str", REQUIRED, "checkpoint file to write"),
        _argument("preset", "str", None, "vit-tiny, vit-small, vit-gpu-t, cnn-tiny, cnn-small or cnn-gpu-t"),
        _argument("kind", "str", None, "vit or cnn, with config, instead of a preset"),
        _argument("config", "object", None, "model configuration (over the preset's, if one is given)"),
        _argument("epochs", "int", 5, ">= 1"),
        _argument("batch", "int", 64, "batch size (>= 1)"),
        _argument("lr", "float", 1e-3, "learning rate"),
        _argument("seed", "int", 0, "random seed"),
        _argument("target_scale", "float", 0.1, "coefficients are divided by this (um) for training"),
        _DEVICE)),
    "evaluate": Command("Score a checkpoint on a dataset (residual wavefront error, peak-to-valley).", (
        _argument("checkpoint", "str", REQUIRED, "checkpoint written by train"),
        _argument("data", "str", REQUIRED, "dataset written by simulate"))),
    "predict": Command("Print a checkpoint's predicted coefficients next to the true ones.", (
        _argument("checkpoint", "str", REQUIRED, "checkpoint written by train"),
        _argument("data", "str", REQUIRED, "dataset written by simulate"),
        _argument("limit", "int", 8, "rows to print (>= 1)"),
        _argument("evaluate", "bool", False, "also score every row of the dataset"))),
    "correct": Command("Run the closed correction loop (simulated deformable mirror) with a checkpoint.", (
        _argument("checkpoint", "str", REQUIRED, "checkpoint written by train"),
        _argument("samples", "int", 64, "aberrations to correct (>= 1)"),
        _argument("seed", "int", 1000, "random seed"),
        _argument("iterations", "int", 3, "correction rounds (>= 1)"),
        _argument("gain", "float", 1.0, "mirror update = gain x prediction"),
        _SIMULATION)),
    "profile": Command("Profile a model's forward pass and write kernel specs for its hottest operators.", (
        _argument("checkpoint", "str", None, "checkpoint to profile, instead of a preset"),
        _argument("preset", "str", "vit-tiny", "model preset to profile when no checkpoint is given"),
        _argument("batch", "int", 16, "batch size (>= 1)"),
        _argument("out_dir", "str", REQUIRED, "folder for the spec files"),
        _argument("repeats", "int", 3, "timed repetitions (>= 1)"),
        _argument("max_specs", "int", 4, "write specs for at most this many of the hottest regions (>= 1)"),
        _argument("min_share", "float", 0.0, "skip regions below this share of the measured pipeline time"))),
}

COMMANDS: dict[str, tuple[Callable[[Arguments], dict[str, Any]], set[str]]] = {
    name: (handler, {argument.name for argument in ARGUMENTS[name].arguments})
    for name, handler in (("simulate", command_simulate), ("train", command_train), ("evaluate", command_evaluate),
                          ("predict", command_predict), ("correct", command_correct), ("profile", command_profile))
}


def main(argv: list[str] | None = None) -> int:
    """Parses argv, runs one command and prints its JSON result (or {"error": ...} with exit code 2)."""
    def add_threads(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")

    parser = build_parser("python -m pipelines.aovift", __doc__, ARGUMENTS, add_threads)
    options = parser.parse_args(argv)
    if options.threads:
        torch.set_num_threads(options.threads)
    try:
        values = json.loads(options.args_json)
        if not isinstance(values, dict):
            raise ConfigError("--args-json must be a JSON object")
        handler, known = COMMANDS[options.command]
        result = handler(Arguments(values, options.command, known))
    except (ConfigError, json.JSONDecodeError) as error:
        message = f"invalid arguments for {options.command}: {error}"
        log(message)
        print(json.dumps({"ok": False, "error": message}))
        return 2
    except Exception as error:  # noqa: BLE001 - reported as data, with the trace on stderr
        traceback.print_exc(file=sys.stderr)
        print(json.dumps({"ok": False, "error": f"{options.command} failed: {type(error).__name__}: {error}"}))
        return 1
    print(json.dumps({"ok": True, "command": options.command, **result}))
    return 0


