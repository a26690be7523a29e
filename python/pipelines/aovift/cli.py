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
        repeats=arguments.get("repeats", int, 3, minimum=1), log=log)


COMMANDS: dict[str, tuple[Callable[[Arguments], dict[str, Any]], set[str]]] = {
    "simulate": (command_simulate, {"out", "samples", "seed", "microscope", "simulation", "device"}),
    "train": (command_train, {"data", "validation", "out", "preset", "kind", "config", "epochs", "batch", "lr", "seed", "target_scale", "device"}),
    "evaluate": (command_evaluate, {"checkpoint", "data"}),
    "predict": (command_predict, {"checkpoint", "data", "limit", "evaluate"}),
    "correct": (command_correct, {"checkpoint", "samples", "seed", "iterations", "gain", "simulation"}),
    "profile": (command_profile, {"checkpoint", "preset", "batch", "out_dir", "repeats"}),
}


def main(argv: list[str] | None = None) -> int:
    """Parses argv, runs one command and prints its JSON result (or {"error": ...} with exit code 2)."""
    parser = argparse.ArgumentParser(prog="python -m pipelines.aovift", description=__doc__)
    parser.add_argument("command", choices=sorted(COMMANDS))
    parser.add_argument("--args-json", default="{}", help="JSON object of arguments; see docs/aovift.md")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
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


