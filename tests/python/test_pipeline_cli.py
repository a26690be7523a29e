"""The pipelines' command lines: every command's --help lists the JSON arguments the command reads,
with the defaults it applies, and the `<command> --args-json '{...}'` protocol the TypeScript tools
use still parses."""
import ast
import contextlib
import dataclasses
import inspect
import io
import json
import textwrap

import pytest

from pipelines.aovift import cli as aovift
from pipelines.command_line import REQUIRED
from pipelines.exfm import __main__ as exfm


def run(main, argv):
    """Runs a pipeline's main() in-process; returns (exit code, stdout)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exit:
            code = exit.code
    return code, out.getvalue()


def help_arguments(main, command):
    """The argument names listed under 'JSON arguments' in `<command> --help`."""
    code, text = run(main, [command, "--help"])
    assert code == 0
    listing = text.split("JSON arguments (--args-json):", 1)[1]
    return [line.split(" (", 1)[0].strip() for line in listing.splitlines() if line.startswith("  ") and not line.startswith("      ")]


TYPES = {"int": "int", "float": "float", "str": "str", "bool": "bool", "dict": "object"}


def get_calls(function):
    """The `arguments.get(name, type, default, required=...)` calls of an aovift command, following
    module functions it hands `arguments` to, as {name: (kind, default)}."""
    found = {}
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name) and any(isinstance(arg, ast.Name) and arg.id == "arguments" for arg in node.args):
            helper = getattr(aovift, node.func.id, None)
            if inspect.isfunction(helper) and helper.__module__ == aovift.__name__:
                for name, read in get_calls(helper).items():
                    if found.get(name, (None, None))[1] is not REQUIRED:
                        found[name] = read
        if isinstance(node.func, ast.Attribute) and node.func.attr == "get" and isinstance(node.func.value, ast.Name) and node.func.value.id == "arguments":
            keywords = {keyword.arg: keyword.value for keyword in node.keywords}
            name, kind = ast.literal_eval(node.args[0]), node.args[1].id
            default = ast.literal_eval(node.args[2]) if len(node.args) > 2 else ast.literal_eval(keywords["default"]) if "default" in keywords else None
            if "required" in keywords and ast.literal_eval(keywords["required"]):
                default = REQUIRED
            if found.get(name, (None, None))[1] is not REQUIRED:  # required wherever one read requires it
                found[name] = (TYPES[kind], default)
    return found


@pytest.mark.parametrize("command", sorted(aovift.COMMANDS))
def test_aovift_help_lists_what_the_command_reads_with_its_defaults(command):
    handler, known = aovift.COMMANDS[command]
    reads = get_calls(handler)
    assert reads, f"found no arguments.get calls in {handler.__name__}"
    assert set(help_arguments(aovift.main, command)) == set(reads) == known
    table = {argument.name: (argument.kind, argument.default) for argument in aovift.ARGUMENTS[command].arguments}
    assert table == reads


@pytest.mark.parametrize("command", sorted(exfm.COMMANDS))
def test_exfm_help_lists_every_field_of_the_command_config(command):
    listed = help_arguments(exfm.main, command)
    assert listed and len(listed) == len(set(listed))
    configs = {"train-foundation": exfm.FoundationConfig, "train-vertical": exfm.VerticalConfig, "generate-data": exfm.DataConfig}
    if command in configs:
        fields = [field.name for field in dataclasses.fields(configs[command])]
        assert set(fields) <= set(listed)
    if command == "generate-data":
        assert "output" in listed
    if command == "merge-experiments":
        assert listed == ["inputs"]


def test_exfm_help_shows_types_defaults_and_field_comments():
    code, text = run(exfm.main, ["profile", "--help"])
    assert code == 0
    assert 'target (str, default "vm"): \'vm\' or \'fm\'' in text
    assert "model (object or null, default null)" in text
    assert 'output (str, default ""): folder for the spec YAML files' in text


def test_top_level_help_names_every_command():
    for main, commands in ((aovift.main, aovift.COMMANDS), (exfm.main, exfm.COMMANDS)):
        code, text = run(main, ["--help"])
        assert code == 0
        for command in commands:
            assert command in text


def test_the_args_json_protocol_still_parses_and_reports_bad_input():
    # The aovift tool appends --threads after the command, as tools/aovift/run-pipeline.ts does.
    code, out = run(aovift.main, ["evaluate", "--args-json", json.dumps({"bogus": 1}), "--threads", "1"])
    assert code == 2
    result = json.loads(out.strip().splitlines()[-1])
    assert result["ok"] is False and "unknown argument(s) bogus; known: checkpoint, data" in result["error"]

    code, out = run(exfm.main, ["merge-experiments", "--args-json", "[]"])
    assert code == 2 and json.loads(out.strip().splitlines()[-1]) == {"ok": False, "error": "--args-json must be a JSON object"}

    code, _ = run(exfm.main, ["no-such-command"])
    assert code == 2
