"""Command line: `serve` (JSON lines for Node), `evaluate` and `autotune` (standalone, e.g. on a GPU host without Node)."""
import argparse
import json
import os
import sys

from .fitness.autotune import autotune_template, evaluate_files
from .protocol import BadRequest, parse_options
from .runtime import Runtime
from .sandbox.sandbox import Sandbox
from .server import Server
from .contract.spec import SpecError, load_spec
from .contract.templates import TemplateError


def _common(parser):
    parser.add_argument("--cache-dir", help="compile cache folder (default: <repo>/.cache/compile)")
    parser.add_argument("--no-network-isolation", action="store_true", help="do not put candidates in their own network namespace")
    parser.add_argument("--no-pid-namespace", action="store_true", help="do not put candidates in their own pid namespace")
    parser.add_argument("--no-drop-user", action="store_true", help="run candidates as the runtime's user even when it is root")
    parser.add_argument("--no-syscall-filter", action="store_true", help="do not install the seccomp system-call filter in candidates")
    parser.add_argument("--cpu-capacity", type=int, help="concurrent cpu evaluations (default 1: timing needs the cores)")


def _standalone(parser):
    _common(parser)
    parser.add_argument("--spec", required=True, help="spec file (.json: a spec, or `kernelevolve specs show <id> --json`)")
    parser.add_argument("--platform", default="cpu", help="platform id")
    parser.add_argument("--out", required=True, help="where to write the results (JSON)")
    parser.add_argument("--sizes", help="comma-separated size names (default: all)")
    parser.add_argument("--options", default="{}", help="EvaluationOptions as JSON, e.g. '{\"trials\": 5}'")
    parser.add_argument("--threads", type=int, help="threads for candidate and reference")
    parser.add_argument("--no-timing", action="store_true", help="check correctness only")


def _parser():
    parser = argparse.ArgumentParser(prog="python -m kernelevolve_runtime", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    _common(commands.add_parser("serve", help="speak the JSON-lines protocol on stdin/stdout"))
    evaluate = commands.add_parser("evaluate", help="evaluate candidate files against a spec")
    _standalone(evaluate)
    evaluate.add_argument("--candidates", required=True, help="a candidate file or a folder of them")
    autotune = commands.add_parser("autotune", help="evaluate instances of a templated kernel")
    _standalone(autotune)
    autotune.add_argument("--template", required=True, help="templated kernel source")
    autotune.add_argument("--budget", type=int, default=16, help="most instances to evaluate (default 16)")
    autotune.add_argument("--seed", type=int, default=0, help="seed of the random subset")
    return parser


def _runtime(arguments):
    sandbox = Sandbox(isolate_network=not arguments.no_network_isolation, pid_namespace=not arguments.no_pid_namespace,
                      drop_user=not arguments.no_drop_user, syscall_filter=not arguments.no_syscall_filter)
    capacities = {"cpu": arguments.cpu_capacity} if arguments.cpu_capacity else {}
    return Runtime(cache_dir=arguments.cache_dir, sandbox=sandbox, capacities=capacities)


def _report(label, result):
    outcome = result["status"] if result["status"] == "passed" else f"failed at {result['stage']}: {result.get('reason')}"
    speedup = f" speed-up {result['speedup']:.2f}x" if result.get("speedup") else ""
    print(f"{label}: {outcome}{speedup} ({result['message']})", file=sys.stderr)


def main(argv=None):
    """Runs one subcommand; returns the process exit code (2 for bad input)."""
    arguments = _parser().parse_args(argv)
    runtime = _runtime(arguments)
    if arguments.command == "serve":
        # Started before any thread exists, from the main thread its parent-death signal is tied to.
        runtime.sandbox.start()
        code = Server(runtime).serve()
        sys.stdout.flush()
        sys.stderr.flush()
        # Everything is answered and the zygote is gone; skip torch's slow interpreter teardown.
        os._exit(code)
    try:
        spec = load_spec(arguments.spec)
        raw_options = json.loads(arguments.options)
        if arguments.sizes:
            raw_options["sizes"] = [size.strip() for size in arguments.sizes.split(",") if size.strip()]
        if arguments.threads:
            raw_options["threads"] = arguments.threads
        if arguments.no_timing:
            raw_options["timing"] = False
        options = parse_options(raw_options, "--options")
        if arguments.command == "evaluate":
            output = evaluate_files(runtime, spec, arguments.platform, arguments.candidates, options, _report)
        else:
            output = autotune_template(runtime, spec, arguments.platform, arguments.template, options, arguments.budget, arguments.seed, _report)
    except (SpecError, BadRequest, TemplateError, ValueError, FileNotFoundError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        runtime.close()
    with open(arguments.out, "w", encoding="utf-8") as handle:
        json.dump(output, handle, indent=2, allow_nan=False)
    return 0
