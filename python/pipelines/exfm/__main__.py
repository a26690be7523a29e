"""CLI: `python -m pipelines.exfm <command> --args-json '{...}'` (pipelines/command_line.py: one JSON result line
last on stdout, progress on stderr). Each command builds its config dataclass from the arguments given (the
dataclass holds the defaults and validates); the table COMMANDS lists the dataclass fields as arguments."""
from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import Any

from ..command_line import REQUIRED, Argument, Command, config_command
from ..command_line import main as run_command_line
from .config import ConfigError, DataConfig, FoundationConfig, VerticalConfig, from_dict
from .evaluate import EvaluateConfig
from .experiment import ExperimentConfig
from .profile import ProfileConfig
from ..kernels.commands import SWAP_ARGUMENTS


def _generate_data(arguments: dict[str, Any]) -> dict[str, Any]:
    from .data import generate_stream, write_dataset

    output = arguments.pop("output")
    config = from_dict(DataConfig, arguments)
    batch, meta = generate_stream(config)
    paths = write_dataset(output, batch, meta)
    return {"folder": output, **paths, "rows": batch.rows, "vocabulary": meta["vocabulary"], "click_rate": meta["click_rate"],
            "new_user_share": meta["new_user_share"], "config": asdict(config)}


def _train_foundation(arguments: dict[str, Any]) -> dict[str, Any]:
    from .foundation import train_foundation

    return train_foundation(from_dict(FoundationConfig, arguments))


def _train_vertical(arguments: dict[str, Any]) -> dict[str, Any]:
    from .vertical import train_vertical

    return train_vertical(from_dict(VerticalConfig, arguments))


def _evaluate(arguments: dict[str, Any]) -> dict[str, Any]:
    from .evaluate import evaluate

    return evaluate(from_dict(EvaluateConfig, arguments))


def _profile(arguments: dict[str, Any]) -> dict[str, Any]:
    from .profile import run_profile

    return run_profile(from_dict(ProfileConfig, arguments))


def _experiment(arguments: dict[str, Any]) -> dict[str, Any]:
    from .experiment import run_experiment

    return run_experiment(from_dict(ExperimentConfig, arguments))


def _swap(arguments: dict[str, Any]) -> dict[str, Any]:
    from ..kernels.commands import swap_command

    return swap_command("exfm", arguments)


def _merge_experiments(arguments: dict[str, Any]) -> dict[str, Any]:
    from .experiment import merge_experiments

    results = []
    for path in arguments["inputs"]:
        try:
            with open(path) as handle:
                results += [json.loads(line) for line in handle.read().splitlines() if line.strip()]
        except (OSError, json.JSONDecodeError) as error:
            raise ConfigError(f"inputs: cannot read {path!r}: {error}") from None
    return merge_experiments(results)


COMMANDS: tuple[Command, ...] = (
    config_command("generate-data", "Generate the synthetic streaming ads dataset.", _generate_data, DataConfig,
                   Argument("output", "str", REQUIRED, "folder to write the dataset to")),
    config_command("train-foundation", "Train the foundation model in the stream and write its DAS files.", _train_foundation, FoundationConfig),
    config_command("train-vertical", "Train one vertical model on its domain, with or without the FM's signal.", _train_vertical, VerticalConfig),
    config_command("evaluate", "Score checkpoints and DAS files per window (NE, relative NE gain, AUC).", _evaluate, EvaluateConfig),
    config_command("profile", "Profile one training step and write kernel specs for its hot operators.", _profile, ProfileConfig),
    config_command("experiment", "Run the E1-E3 claims and the no-drift control over seeds.", _experiment, ExperimentConfig),
    Command("merge-experiments", "Pool experiment results made one seed at a time.", _merge_experiments, (
        Argument("inputs", "list[str]", REQUIRED, "files, each holding experiment result lines"),)),
    Command("swap", "Swap optimised kernels (dot interaction, jagged repeat) into the training and inference steps: outputs checked, "
            "step times before and after.", _swap, SWAP_ARGUMENTS),
)


def main(argv: list[str] | None = None) -> int:
    """Runs one command (see pipelines/command_line.py): exit 0 with its result line, 2 for bad input, 1 for a failure."""
    return run_command_line("python -m pipelines.exfm", "ExFM pipeline: synthetic ads stream, FM, DAS, vertical models.",
                            COMMANDS, argv, input_errors=(ConfigError,))


if __name__ == "__main__":
    sys.exit(main())
