"""The commands of `python -m pipelines.kernels <command> --args-json '{...}'`: the swappable operators, a kernel's check, swapping kernels
into a pipeline with step times before and after, and the benchmark of both pipelines (docs/pipeline-kernels.md)."""
from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from ..command_line import REQUIRED, Argument, ArgumentError, Command
from ..command_line import main as run_command_line


def _list(arguments: dict[str, Any]) -> dict[str, Any]:
    from . import swap
    from .bench import default_kernels

    return {"ok": True, "ops": {name: {"description": op.description, "spec": op.spec, "used_in": list(op.used_in)} for name, op in swap.ops().items()},
            "optimised": default_kernels(arguments["language"])}


def _check(arguments: dict[str, Any]) -> dict[str, Any]:
    from . import swap

    report = swap.check(arguments["op"], arguments["kernel"], arguments["device"])
    return {**report, "ok": report["ok"]}


def _profile(arguments: dict[str, Any]) -> dict[str, Any]:
    from ..aovift.spec_writer import to_yaml
    from .profile import profile_steps
    from .steps import build_steps

    steps = build_steps(arguments["pipeline"], device=arguments["device"], **(arguments["options"] or {}))
    result = profile_steps(steps, arguments["out_dir"], arguments["pipeline"], f"python -m pipelines.kernels profile ({arguments['pipeline']}, {arguments['device']})",
                           to_yaml, top=arguments["top"], min_share=arguments["min_share"], repeats=arguments["repeats"], device=arguments["device"])
    return {"ok": True, **result}


def _kernels(arguments: dict[str, Any]) -> dict[str, str]:
    from .bench import default_kernels, run_best_kernel, seed_kernels

    language = arguments.get("language", "cpu")
    kernels = seed_kernels(language) if arguments.get("seeds") else default_kernels(language)
    kernels.update(arguments.get("kernels") or {})
    for op, run in (arguments.get("runs") or {}).items():
        kernels[op] = run_best_kernel(op, run)["path"]
    return kernels


def swap_command(pipeline: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The `swap` command of a pipeline's own command line (python -m pipelines.aovift swap, pipelines.exfm swap); a
    kernel that fails its check, cannot be built, or an unknown run is bad input there too (exit 2)."""
    from .artifacts import ArtifactError
    from .swap import SwapError

    try:
        return _swap({**arguments, "pipeline": pipeline})
    except (SwapError, ArtifactError, ValueError) as error:
        raise ArgumentError(str(error)) from error


def _swap(arguments: dict[str, Any]) -> dict[str, Any]:
    from .bench import machine, swap_bench

    result = swap_bench(arguments["pipeline"], _kernels(arguments), arguments["rounds"], arguments["options"], arguments["atol"], arguments["rtol"],
                        arguments["device"], log=lambda message: print(message, file=sys.stderr, flush=True))
    return {"ok": all(item["check"]["outputs_match"] for item in result["results"].values()), "machine": machine(), **result}


def _bench(arguments: dict[str, Any]) -> dict[str, Any]:
    from .bench import machine, swap_bench

    kernels = _kernels(arguments)
    started = time.time()
    runs = []
    for pipeline in arguments["pipelines"]:
        options = (arguments["options"] or {}).get(pipeline, {})
        runs.append(swap_bench(pipeline, kernels, arguments["rounds"], options, arguments["atol"], arguments["rtol"], arguments["device"],
                               log=lambda message: print(message, file=sys.stderr, flush=True), skip_failing=arguments["skip_failing"]))
    result = {"ok": all(item["check"]["outputs_match"] for run in runs for item in run["results"].values()), "machine": machine(),
              "seconds": round(time.time() - started, 1), "runs": runs}
    if arguments["out"]:
        os.makedirs(os.path.dirname(os.path.abspath(arguments["out"])), exist_ok=True)
        with open(arguments["out"], "w") as handle:
            json.dump(result, handle, indent=1)
    if arguments["markdown"]:
        with open(arguments["markdown"], "w") as handle:
            handle.write(markdown_table(result) + "\n")
    return result


def markdown_table(result: dict[str, Any]) -> str:
    """The bench result as a markdown table: per pipeline and step, wall and CPU time before/after and the output check."""
    machine = result["machine"]
    lines = [f"machine: {machine.get('gpu') or machine['cpu']}, {machine['cores']} cores, torch {machine['torch']} with {machine['torch_threads']} "
             f"thread(s), load average {', '.join(f'{value:.1f}' for value in machine.get('load_average') or [])}",
             "",
             "| pipeline | step | wall ms torch -> swapped (median) | speed-up | CPU ms torch -> swapped (median) | speed-up | outputs match (max abs diff) | swapped ops in the step |",
             "|---|---|---|---|---|---|---|---|"]
    for run in result["runs"]:
        for kind, item in run["results"].items():
            check = item["check"]
            lines.append(f"| {run['pipeline']} | {kind} | {item['torch_ms']:.1f} -> {item['swapped_ms']:.1f} | {item['speedup']:.2f}x | "
                         f"{item['torch_cpu_ms']:.1f} -> {item['swapped_cpu_ms']:.1f} | {item['speedup_cpu_time']:.2f}x | "
                         f"{check['outputs_match']} ({check['max_abs_difference']:.2g}) | {', '.join(item['swapped_ops_in_step']) or 'none'} |")
    return "\n".join(lines)


_COMMON = (
    Argument("kernels", "object", {}, "swappable operator -> kernel file (.cpp/.so for cpu, .py Triton), over the committed optimised ones"),
    Argument("runs", "object", {}, "swappable operator -> optimisation run id (or run folder) whose best kernel to swap in"),
    Argument("language", "str", "cpu", "which committed optimised kernels to start from: cpu (C++) or triton"),
    Argument("seeds", "bool", False, "start from the seed baselines of that language instead of the optimised kernels"),
    Argument("rounds", "int", 5, "timed rounds per step kind (each runs torch and swapped, alternating order)", minimum=1),
    Argument("atol", "float", 1e-4, "absolute tolerance of the step outputs"),
    Argument("rtol", "float", 1e-3, "relative tolerance of the step outputs"),
    Argument("device", "str", "cpu", "cpu or cuda"),
)

SWAP_ARGUMENTS: tuple[Argument, ...] = (
    Argument("options", "object", {}, "step options: aovift {preset, batch}, exfm {target, batch, examples}"),
    *_COMMON)
"""The arguments of a pipeline's `swap` command (its pipeline is fixed)."""

COMMANDS: tuple[Command, ...] = (
    Command("list", "The swappable pipeline operators and the committed optimised kernels.", _list, (
        Argument("language", "str", "cpu", "cpu or triton"),)),
    Command("profile", "Measure a pipeline's training and inference steps and write specs for the hottest operators.", _profile, (
        Argument("pipeline", "str", REQUIRED, "aovift or exfm"),
        Argument("out_dir", "str", REQUIRED, "folder for the spec files (seed kernels go to <out_dir>/seeds/<platform>/<id>/)"),
        Argument("options", "object", {}, "step options: aovift {preset, batch}, exfm {target, batch, examples}"),
        Argument("top", "int", 6, "specs for this many of the operators measured hottest", minimum=1),
        Argument("min_share", "float", 0.02, "skip operators below this share of the measured operator time"),
        Argument("repeats", "int", 2, "profiled repetitions of each step", minimum=1),
        Argument("device", "str", "cpu", "cpu or cuda"))),
    Command("check", "Check one kernel against a swappable operator's torch code.", _check, (
        Argument("op", "str", REQUIRED, "swappable operator, e.g. aovift.max_pool3d"),
        Argument("kernel", "str", REQUIRED, "kernel file (.cpp/.so cpu ABI, .py Triton launcher)"),
        Argument("device", "str", "cpu", "cpu or cuda"))),
    Command("swap", "Swap kernels into one pipeline: outputs checked, step times before and after.", _swap, (
        Argument("pipeline", "str", REQUIRED, "aovift or exfm"), *SWAP_ARGUMENTS)),
    Command("bench", "Swap kernels into both pipelines and write the before/after figures.", _bench, (
        Argument("pipelines", "list[str]", ["aovift", "exfm"], "pipelines to run"),
        Argument("options", "object", {}, "per pipeline step options, e.g. {\"exfm\": {\"target\": \"fm\"}}"),
        Argument("out", "str", "", "JSON file for the results"),
        Argument("markdown", "str", "", "markdown file for the summary table"),
        Argument("skip_failing", "bool", False, "leave an operator whose kernel fails to build or to pass its check as torch (listed under refused) instead of stopping"),
        *_COMMON)),
)


def main(argv: list[str] | None = None) -> int:
    from .artifacts import ArtifactError
    from .swap import SwapError

    return run_command_line("python -m pipelines.kernels", "Pipeline kernels: swap optimised kernels into AOViFT and ExFM.", COMMANDS, argv,
                            input_errors=(SwapError, ArtifactError, ValueError))
