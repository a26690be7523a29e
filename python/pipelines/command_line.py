"""The command line of the pipelines: `python -m pipelines.<name> <command> --args-json '{...}'`.

A command's arguments travel as one JSON object (what the TypeScript tools send), so argparse cannot
list them by itself; each command is a subcommand whose --help lists its JSON arguments with their
type, default and meaning, from a table (aovift) or from the command's config dataclass (exfm).
"""
from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import re
import textwrap
from typing import Any, Callable, Iterable


class _Required:
    def __repr__(self) -> str:
        return "required"


REQUIRED: Any = _Required()
"""Default of an argument that must be given."""


@dataclasses.dataclass(frozen=True)
class JsonArgument:
    """One field of a command's --args-json object, as its --help shows it."""

    name: str
    kind: str
    default: Any = None
    help: str = ""

    def describe(self) -> str:
        default = "required" if self.default is REQUIRED else f"default {json.dumps(self.default)}"
        return f"{self.name} ({self.kind}, {default})" + (f": {self.help}" if self.help else "")


@dataclasses.dataclass(frozen=True)
class Command:
    """A pipeline command: a one-line summary and the JSON arguments it takes."""

    summary: str
    arguments: tuple[JsonArgument, ...]


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
    optional = re.fullmatch(r"Optional\[(.+)\]", text)
    if optional:
        return f"{_kind(optional.group(1))} or null"
    if re.fullmatch(r"\w*Config|Dict\[.*\]|dict(\[.*\])?", text):
        return "object"
    return re.sub(r"\bList\[", "list[", text)


def _json_default(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    return value


def dataclass_arguments(cls: type, skip: Iterable[str] = ()) -> tuple[JsonArgument, ...]:
    """The JSON arguments of a config dataclass: its fields, their annotated types and defaults."""
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
        arguments.append(JsonArgument(field.name, _kind(field.type), _json_default(default), comments.get(field.name, "")))
    return tuple(arguments)


def _argument_list(command: Command) -> str:
    lines = ["JSON arguments (--args-json):"]
    for argument in command.arguments:
        lines.extend(textwrap.wrap(argument.describe(), width=100, initial_indent="  ", subsequent_indent="      "))
    return "\n".join(lines)


def build_parser(prog: str, description: str, commands: dict[str, Command], add_options: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.ArgumentParser:
    """An argparse parser with one subcommand per command; `<command> --help` lists its JSON arguments."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"Run '{prog} <command> --help' for the JSON arguments of a command.")
    subcommands = parser.add_subparsers(dest="command", metavar="command", required=True)
    for name in sorted(commands):
        command = commands[name]
        subparser = subcommands.add_parser(
            name, help=command.summary, description=command.summary, epilog=_argument_list(command),
            formatter_class=argparse.RawDescriptionHelpFormatter)
        subparser.add_argument("--args-json", default="{}", metavar="JSON", help="the command's arguments, listed below, as one JSON object")
        if add_options:
            add_options(subparser)
    return parser
