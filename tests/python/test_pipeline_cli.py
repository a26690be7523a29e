"""The pipelines' one command line (pipelines/command_line.py): every command's --help lists each argument of its
table as an option, the aovift commands read exactly the arguments they declare, and the `--args-json` protocol
the TypeScript tools use (one JSON result line, exit codes 0/1/2, `error:` on stderr) holds for both pipelines."""
import ast
import contextlib
import dataclasses
import inspect
import io
import json
import re
import textwrap

import pytest

from pipelines import command_line
from pipelines.aovift import cli as aovift
from pipelines.command_line import REQUIRED, Argument, ArgumentError, Command, config_command, resolve_arguments
from pipelines.exfm import __main__ as exfm
from pipelines.kernels import __main__ as kernels


def run(main, argv):
    """Runs a main() in-process; returns (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit:
            code = exit.code
    return code, out.getvalue(), err.getvalue()


def result_line(out):
    return json.loads(out.strip().splitlines()[-1])


def help_options(main, command):
    """{argument name: its help text} for the options `<command> --help` lists (--args-json, --threads, -h left out)."""
    code, text, _ = run(main, [command, "--help"])
    assert code == 0
    listing = text.split("options:", 1)[1]
    options, current = {}, None
    for line in listing.splitlines():
        match = re.match(r"^  (--[a-z0-9-]+)(?: [A-Z]+)?\s*(.*)$", line)
        if match:
            current = match.group(1)[2:].replace("-", "_")
            options[current] = match.group(2)
        elif current and line.startswith("   "):
            options[current] += " " + line.strip()
    for name in ("help", "args_json"):
        options.pop(name, None)
    return options


PIPELINES = [(module, command) for module in (aovift, exfm, kernels) for command in module.COMMANDS]


@pytest.mark.parametrize("module, command", PIPELINES, ids=lambda item: getattr(item, "name", ""))
def test_help_lists_every_argument_of_the_table_with_its_type_and_default(module, command):
    options = help_options(module.main, command.name)
    if all(argument.name != "threads" for argument in command.arguments):
        assert options.pop("threads").startswith("torch CPU threads")  # the common --threads option
    assert list(options) == [argument.name for argument in command.arguments]
    for argument in command.arguments:
        text = " ".join(options[argument.name].split())
        assert text.startswith(f"{argument.kind}, "), text
        assert ("required" if argument.default is REQUIRED else f"default {json.dumps(argument.default)}"[:40]) in text


def reads(function):
    """The names an aovift command reads as `args["name"]`, following module functions it hands `args` to."""
    found = set()
    for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(function)))):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "args":
            found.add(ast.literal_eval(node.slice))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and any(isinstance(arg, ast.Name) and arg.id == "args" for arg in node.args):
            helper = getattr(aovift, node.func.id, None)
            if inspect.isfunction(helper) and helper.__module__ == aovift.__name__:
                found |= reads(helper)
    return found


@pytest.mark.parametrize("command", aovift.COMMANDS, ids=lambda command: command.name)
def test_aovift_commands_read_exactly_the_arguments_they_declare(command):
    assert command.applies_defaults
    assert reads(command.run) == {argument.name for argument in command.arguments}


@pytest.mark.parametrize("command", exfm.COMMANDS, ids=lambda command: command.name)
def test_exfm_arguments_are_the_fields_of_the_config_each_command_builds(command):
    configs = {"generate-data": exfm.DataConfig, "train-foundation": exfm.FoundationConfig, "train-vertical": exfm.VerticalConfig,
               "evaluate": exfm.EvaluateConfig, "profile": exfm.ProfileConfig, "experiment": exfm.ExperimentConfig}
    names = [argument.name for argument in command.arguments]
    if command.name in configs:
        assert not command.applies_defaults
        assert set(names) - {"output"} <= {field.name for field in dataclasses.fields(configs[command.name])} <= set(names)
    elif command.name == "swap":  # the swap command shared with pipelines.kernels (its arguments table)
        assert names == [argument.name for argument in kernels.SWAP_ARGUMENTS]
    else:
        assert names == ["inputs"]


def test_exfm_help_shows_types_defaults_and_field_comments():
    options = help_options(exfm.main, "profile")
    assert options["target"] == "str, default \"vm\": 'vm' or 'fm'"
    assert options["model"].startswith("object or null, default null")
    assert options["output"] == 'str, default "": folder for the spec YAML files'


def test_top_level_help_names_every_command():
    for module in (aovift, exfm, kernels):
        code, text, _ = run(module.main, ["--help"])
        assert code == 0
        for command in module.COMMANDS:
            assert command.name in text


def test_bad_input_exits_2_with_one_json_error_line_and_the_error_on_stderr():
    # The tools append --threads after --args-json (tools/pipeline-tools.ts).
    code, out, err = run(aovift.main, ["evaluate", "--args-json", json.dumps({"bogus": 1}), "--threads", "1"])
    assert code == 2
    assert result_line(out) == {"ok": False, "error": "invalid arguments for evaluate: unknown argument(s) bogus; known: checkpoint, data"}
    assert err.strip().splitlines()[-1] == "error: invalid arguments for evaluate: unknown argument(s) bogus; known: checkpoint, data"

    code, out, _ = run(exfm.main, ["merge-experiments", "--args-json", "[]"])
    assert code == 2 and result_line(out) == {"ok": False, "error": "invalid arguments for merge-experiments: --args-json must be a JSON object"}
    code, out, _ = run(exfm.main, ["merge-experiments", "--args-json", "{"])
    assert code == 2 and "not valid JSON" in result_line(out)["error"]
    code, out, _ = run(aovift.main, ["predict", "--args-json", json.dumps({"checkpoint": "none.pt", "data": "none.pt", "limit": 0})])
    assert code == 2 and result_line(out)["error"] == "invalid arguments for predict: 'limit' must be >= 1, got 0"
    # The pipeline's own input error (here: no such checkpoint) is bad input too.
    code, out, _ = run(aovift.main, ["predict", "--args-json", json.dumps({"checkpoint": "none.pt", "data": "none.pt"})])
    assert code == 2 and "checkpoint not found" in result_line(out)["error"]
    code, _, _ = run(exfm.main, ["no-such-command"])
    assert code == 2


# A small pipeline of its own: the protocol without torch.
SEEN = {}


def echo(args):
    SEEN.update(args)
    return {"echo": args}


def explode(args):
    raise RuntimeError("the kernel melted")


TABLE = (
    Command("echo", "Echo the arguments.", echo, (
        Argument("name", "str", REQUIRED, "who"),
        Argument("count", "int", 2, "how many", minimum=1),
        Argument("scale", "float", 1.0),
        Argument("flags", "list[int] or null", None),
        Argument("extra", "object", {}))),
    Command("explode", "Fail.", explode),
)


def toy(argv):
    return command_line.main("toy", "A toy pipeline.", TABLE, argv)


def test_args_json_and_options_merge_with_the_options_winning_and_defaults_filled():
    code, out, _ = run(toy, ["echo", "--args-json", json.dumps({"name": "a", "count": 5}), "--count", "7", "--flags", "[1, 2]", "--scale", "3"])
    assert code == 0
    assert result_line(out) == {"ok": True, "command": "echo", "echo": {"name": "a", "count": 7, "scale": 3.0, "flags": [1, 2], "extra": {}}}


def test_a_failing_command_exits_1_with_its_exception_and_trace_on_stderr():
    code, out, err = run(toy, ["explode"])
    assert code == 1
    assert result_line(out) == {"ok": False, "error": "explode failed: RuntimeError: the kernel melted"}
    assert "Traceback" in err and err.strip().endswith("error: explode failed: RuntimeError: the kernel melted")


@pytest.mark.parametrize("values, message", [
    ({}, "missing required argument 'name'"),
    ({"name": 3}, "'name' must be str, got 3"),
    ({"name": "a", "count": True}, "'count' must be int, got true"),
    ({"name": "a", "count": 0}, "'count' must be >= 1, got 0"),
    ({"name": "a", "flags": [1, "x"]}, "'flags[1]' must be int, got \"x\""),
    ({"name": "a", "extra": []}, "'extra' must be object, got []"),
    ({"name": "a", "other": 1}, "unknown argument(s) other; known: count, extra, flags, name, scale"),
])
def test_resolve_arguments_names_the_bad_argument(values, message):
    with pytest.raises(ArgumentError) as raised:
        resolve_arguments(TABLE[0], values)
    assert str(raised.value) == message


def test_a_config_command_passes_only_the_arguments_given():
    @dataclasses.dataclass
    class Config:
        size: int = 4  # how big
        names: list = dataclasses.field(default_factory=list)

    command = config_command("c", "A config command.", echo, Config, Argument("output", "str", REQUIRED))
    assert [(argument.name, argument.kind, argument.default, argument.help) for argument in command.arguments] == [
        ("output", "str", REQUIRED, ""), ("size", "int", 4, "how big"), ("names", "list", [], "")]
    assert resolve_arguments(command, {"output": "o", "names": None}) == {"output": "o", "names": None}
