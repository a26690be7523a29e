"""CLI: `python -m pipelines.exfm <command> --args-json '{...}'`; one JSON result line last on stdout, progress on stderr."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Callable, Dict

from ..command_line import REQUIRED, Command, JsonArgument, build_parser, dataclass_arguments
from .config import ConfigError, DataConfig, FoundationConfig, VerticalConfig, from_dict


def _generate_data(arguments: dict) -> dict:
    from .data import generate_stream, write_dataset

    output = arguments.pop("output", None)
    if not output or not isinstance(output, str):
        raise ConfigError("args.output: a folder for the dataset is required, e.g. {\"output\": \"work/data\"}")
    config = from_dict(DataConfig, arguments)
    batch, meta = generate_stream(config)
    paths = write_dataset(output, batch, meta)
    return {"ok": True, "command": "generate-data", "folder": output, **paths, "rows": batch.rows, "vocabulary": meta["vocabulary"], "click_rate": meta["click_rate"], "new_user_share": meta["new_user_share"], "config": asdict(config)}


def _train_foundation(arguments: dict) -> dict:
    from .foundation import train_foundation

    return train_foundation(from_dict(FoundationConfig, arguments))


def _train_vertical(arguments: dict) -> dict:
    from .vertical import train_vertical

    return train_vertical(from_dict(VerticalConfig, arguments))


def _evaluate(arguments: dict) -> dict:
    from .evaluate import EvaluateConfig, evaluate

    return evaluate(from_dict(EvaluateConfig, arguments))


def _profile(arguments: dict) -> dict:
    from .profile import ProfileConfig, run_profile

    return run_profile(from_dict(ProfileConfig, arguments))


def _experiment(arguments: dict) -> dict:
    from .experiment import ExperimentConfig, run_experiment

    return run_experiment(from_dict(ExperimentConfig, arguments))


def _merge_experiments(arguments: dict) -> dict:
    from .experiment import merge_experiments

    inputs = arguments.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(p, str) for p in inputs) or set(arguments) != {"inputs"}:
        raise ConfigError("args.inputs: a list of files, each holding one experiment result as its last JSON line")
    results = []
    for path in inputs:
        try:
            with open(path) as handle:
                lines = [line for line in handle.read().splitlines() if line.strip()]
            results += [json.loads(line) for line in lines]
        except (OSError, json.JSONDecodeError) as error:
            raise ConfigError(f"args.inputs: cannot read {path!r}: {error}") from None
    return merge_experiments(results)


COMMANDS: Dict[str, Callable[[dict], dict]] = {
    "generate-data": _generate_data,
    "train-foundation": _train_foundation,
    "train-vertical": _train_vertical,
    "evaluate": _evaluate,
    "profile": _profile,
    "experiment": _experiment,
    "merge-experiments": _merge_experiments,
}


def command_arguments() -> Dict[str, Command]:
    """What each command's --help lists: the fields of the config dataclass it reads."""
    from .evaluate import EvaluateConfig
    from .experiment import ExperimentConfig
    from .profile import ProfileConfig

    output = JsonArgument("output", "str", REQUIRED, "folder to write the dataset to")
    inputs = JsonArgument("inputs", "list[str]", REQUIRED, "files, each holding experiment result lines")
    return {
        "generate-data": Command("Generate the synthetic streaming ads dataset.", (output,) + dataclass_arguments(DataConfig)),
        "train-foundation": Command("Train the foundation model in the stream and write its DAS files.", dataclass_arguments(FoundationConfig)),
        "train-vertical": Command("Train one vertical model on its domain, with or without the FM's signal.", dataclass_arguments(VerticalConfig)),
        "evaluate": Command("Score checkpoints and DAS files per window (NE, relative NE gain, AUC).", dataclass_arguments(EvaluateConfig)),
        "profile": Command("Profile one training step and write kernel specs for its hot operators.", dataclass_arguments(ProfileConfig)),
        "experiment": Command("Run the E1-E3 claims and the no-drift control over seeds.", dataclass_arguments(ExperimentConfig)),
        "merge-experiments": Command("Pool experiment results made one seed at a time.", (inputs,)),
    }


def main(argv: list | None = None) -> int:
    """Parses the command and its JSON arguments, runs it, prints the result; exit 2 on bad input."""
    parser = build_parser("python -m pipelines.exfm", "ExFM pipeline: synthetic ads stream, FM, DAS, vertical models.", command_arguments())
    options = parser.parse_args(argv)
    try:
        arguments = json.loads(options.args_json)
        if not isinstance(arguments, dict):
            raise ConfigError("--args-json must be a JSON object")
        result = COMMANDS[options.command](arguments)
    except json.JSONDecodeError as error:
        return _fail(f"--args-json is not valid JSON: {error}")
    except ConfigError as error:
        return _fail(str(error))
    print(json.dumps(result))
    return 0


def _fail(message: str) -> int:
    """Reports a user error on stderr (what the TS tools relay) and as the JSON result line."""
    print(f"error: {message}", file=sys.stderr)
    print(json.dumps({"ok": False, "error": message}))
    return 2


if __name__ == "__main__":
    sys.exit(main())
