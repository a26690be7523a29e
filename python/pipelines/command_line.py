"""The one command line of the pipelines: `python -m pipelines.<name> <command> [--args-json '{...}'] [--<argument> value ...]`.

A pipeline declares its commands in a table of `Command`s (name, summary, the function that runs it, its
arguments); `main` builds the argparse parser from the table, so `<command> --help` lists every argument
as an option with its type, default and meaning. The arguments arrive as one JSON object (`--args-json`,
what the TypeScript tools send), as options (`--out-dir specs`, JSON for objects and lists), or both (the
options win). They are checked against the table (unknown names, types, minimums, required ones), the
command runs, and one JSON line comes last on stdout:

- `{"ok": true, "command": <name>, ...result}`, exit code 0;
- `{"ok": false, "error": "invalid arguments for <name>: ..."}`, exit code 2, for bad input (the table's
  checks, or one of the pipeline's own input errors);
- `{"ok": false, "error": "<name> failed: <Type>: ..."}`, exit code 1, for any other exception (its trace
  on stderr).

Progress goes to stderr (`log`); the error is also printed on stderr as `error: <message>`, the line the
tools relay. `--threads N` (unless a command declares its own `threads` argument) sets torch's CPU threads.
"""
from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import re
import sys
import traceback
from typing import Any, Callable, Iterable, Sequence


class _Required:
    def __repr__(self) -> str:
        return "required"


REQUIRED: Any = _Required()
"""Default of an argument that must be given."""


class ArgumentError(ValueError):
    """An argument is unknown, missing or of the wrong type; the message names it."""


def log(message: str) -> None:
    """A progress line: stderr, so that stdout stays one JSON result line."""
    print(message, file=sys.stderr, flush=True)


@dataclasses.dataclass(frozen=True)
class Argument:
    """One argument of a command: its JSON name, kind (int, float, str, bool, object, list[int], "str or null", ...),
    default (REQUIRED for one that must be given), meaning, and optional lower bound."""

    name: str
    kind: str
    default: Any = None
    help: str = ""
    minimum: float | None = None

    def describe(self) -> str:
        default = "required" if self.default is REQUIRED else f"default {json.dumps(self.default)}"
        bound = f", >= {self.minimum}" if self.minimum is not None else ""
        return f"{self.kind}, {default}{bound}" + (f": {self.help}" if self.help else "")


@dataclasses.dataclass(frozen=True)
class Command:
    """A pipeline command. `run` receives the checked arguments as a dict: every declared argument, with the
    table's defaults filled in; or, with `applies_defaults=False` (a command that builds a config dataclass
    holding its own defaults), only those given."""

    name: str
    summary: str
    run: Callable[[dict[str, Any]], dict[str, Any]]
    arguments: tuple[Argument, ...] = ()
    applies_defaults: bool = True


def _field_comments(cls: type) -> dict[str, str]:
    """The trailing `# comment` of each field line in a dataclass's source (its documentation)."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    comments = {}
    for match in re.finditer(r"^\s+(\w+)\s*:[^#\n]*#\s*(.+)$", source, re.MULTILINE):
        comments.setdefault(match.group(1), match.group(2).strip())
    return comments


def _kind(annotation: Any) -> str:
    """A JSON reading of a field's annotation: int, list[int], object, object or null."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    text = text.replace("typing.", "").replace(" ", "")
    optional = re.fullmatch(r"Optional\[(.+)\]", text) or re.fullmatch(r"(.+)\|None", text)
    if optional:
        return f"{_kind(optional.group(1))} or null"
    if re.fullmatch(r"\w*Config|Dict\[.*\]|dict(\[.*\])?", text):
        return "object"
    return re.sub(r"\bList\[", "list[", text)


def _json_default(value: Any) -> Any:
    return dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value


def config_arguments(cls: type, skip: Iterable[str] = ()) -> tuple[Argument, ...]:
    """The arguments of a config dataclass: its fields, their annotated types, defaults and `# comments`."""
    comments, skipped = _field_comments(cls), set(skip)
    arguments = []
    for field in dataclasses.fields(cls):
        if field.name in skipped:
            continue
        if field.default is not dataclasses.MISSING:
            default = field.default
        elif field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        else:
            default = REQUIRED
        arguments.append(Argument(field.name, _kind(field.type), _json_default(default), comments.get(field.name, "")))
    return tuple(arguments)


def config_command(name: str, summary: str, run: Callable[[dict[str, Any]], dict[str, Any]], config: type, *extra: Argument) -> Command:
    """A command whose arguments are `extra` plus the fields of the config dataclass `run` builds (and validates)."""
    return Command(name, summary, run, tuple(extra) + config_arguments(config), applies_defaults=False)


_TYPES: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,), "object": (dict,)}


def check_value(where: str, kind: str, value: Any) -> Any:
    """Checks a JSON value against a kind; returns it (ints widened for float). Kinds it does not know pass."""
    if kind.endswith(" or null"):
        return None if value is None else check_value(where, kind[: -len(" or null")], value)
    items = re.fullmatch(r"list\[(.+)\]", kind)
    if items or kind == "list":
        if not isinstance(value, list):
            raise ArgumentError(f"'{where}' must be a list, got {json.dumps(value)}")
        return [check_value(f"{where}[{index}]", items.group(1), item) for index, item in enumerate(value)] if items else value
    expected = _TYPES.get(kind)
    if expected is None:
        return value
    if not isinstance(value, expected) or (isinstance(value, bool) and kind != "bool"):
        raise ArgumentError(f"'{where}' must be {kind}, got {json.dumps(value)}")
    return float(value) if kind == "float" else value


def resolve_arguments(command: Command, values: dict[str, Any]) -> dict[str, Any]:
    """The arguments `command.run` receives: unknown names refused, types and minimums checked, defaults filled."""
    known = {argument.name: argument for argument in command.arguments}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ArgumentError(f"unknown argument(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    resolved: dict[str, Any] = {}
    for argument in command.arguments:
        value = values.get(argument.name)
        if value is None:
            if argument.default is REQUIRED:
                raise ArgumentError(f"missing required argument '{argument.name}'")
            if argument.name in values and not command.applies_defaults:
                resolved[argument.name] = None
            elif command.applies_defaults:
                resolved[argument.name] = argument.default
            continue
        value = check_value(argument.name, argument.kind, value)
        if argument.minimum is not None and value < argument.minimum:
            raise ArgumentError(f"'{argument.name}' must be >= {argument.minimum}, got {value}")
        resolved[argument.name] = value
    return resolved


def _option_type(kind: str) -> Callable[[str], Any]:
    """How an option's text becomes its JSON value."""
    def parse_json(text: str) -> Any:
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise argparse.ArgumentTypeError(f"expected JSON ({kind}), got {text!r}: {error}") from None

    def parse_bool(text: str) -> bool:
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")

    simple = {"int": int, "float": float, "str": str, "bool": parse_bool}
    return simple.get(kind.replace(" or null", ""), parse_json)


def _uses_global_threads(command: Command) -> bool:
    return all(argument.name != "threads" for argument in command.arguments)


def build_parser(prog: str, description: str, commands: Sequence[Command]) -> argparse.ArgumentParser:
    """The argparse parser: one subcommand per command, one option per argument (dest `arg:<name>`)."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"Run '{prog} <command> --help' for the arguments of a command.")
    subcommands = parser.add_subparsers(dest="command", metavar="command", required=True)
    for command in sorted(commands, key=lambda item: item.name):
        subparser = subcommands.add_parser(
            command.name, help=command.summary, description=command.summary,
            epilog="Each argument may also be given in --args-json under its name (snake_case); options win.")
        subparser.add_argument("--args-json", default="{}", metavar="JSON", help="the arguments as one JSON object")
        if _uses_global_threads(command):
            subparser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
        for argument in command.arguments:
            metavar = argument.kind.replace(" or null", "").upper() if argument.kind.replace(" or null", "") in _TYPES else "JSON"
            subparser.add_argument(
                "--" + argument.name.replace("_", "-"), dest=f"arg:{argument.name}", default=argparse.SUPPRESS,
                type=_option_type(argument.kind), metavar=metavar, help=argument.describe().replace("%", "%%"))
    return parser


def _fail(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr, flush=True)
    print(json.dumps({"ok": False, "error": message}))
    return code


def main(prog: str, description: str, commands: Sequence[Command], argv: list[str] | None = None,
         input_errors: tuple[type[BaseException], ...] = ()) -> int:
    """Parses argv, runs one command and prints its JSON result line; returns the exit code (0, 1 or 2).
    `input_errors` are the pipeline's own exceptions for bad input (reported like the table's checks)."""
    by_name = {command.name: command for command in commands}
    options = build_parser(prog, description, commands).parse_args(argv)
    command = by_name[options.command]
    try:
        values = json.loads(options.args_json)
        if not isinstance(values, dict):
            raise ArgumentError("--args-json must be a JSON object")
        values.update({key[len("arg:"):]: value for key, value in vars(options).items() if key.startswith("arg:")})
        arguments = resolve_arguments(command, values)
    except json.JSONDecodeError as error:
        return _fail(f"invalid arguments for {command.name}: --args-json is not valid JSON: {error}", 2)
    except ArgumentError as error:
        return _fail(f"invalid arguments for {command.name}: {error}", 2)
    if _uses_global_threads(command) and options.threads > 0:
        import torch

        torch.set_num_threads(options.threads)
    try:
        result = command.run(arguments)
    except (ArgumentError, *input_errors) as error:
        return _fail(f"invalid arguments for {command.name}: {error}", 2)
    except Exception as error:  # noqa: BLE001 - reported as data, with the trace on stderr
        traceback.print_exc(file=sys.stderr)
        return _fail(f"{command.name} failed: {type(error).__name__}: {error}", 1)
    print(json.dumps({"ok": True, "command": command.name, **result}))
    return 0
