"""Runs `python -m kernelevolve_runtime evaluate ...` in-process with the runtime-side steps of the evaluator timed.

The evaluator reports its stage durations (static, compile, correctness, timing, overhead) in each result. This
wrapper adds where the runtime process spends its share of them: it wraps the functions the evaluator module calls
(input generation, the reference at the declared dtype and in float64, reading the worker's .npy files back or, after
the measurement rewrite, the shared arena's writes and reads, the trial check, the output digest) with time.perf_counter and writes the totals, call counts and the peak resident
memory of this process next to the results. Nothing in the evaluation changes: same code path, same checks.
What the confined worker does (its own input generation, host-to-device copy, the candidate, writing .npy files)
is not visible from here; scripts/gpu/profile_stages.py measures those steps on their own at the same size.

Usage: PYTHONPATH=python python scripts/gpu/profile_evaluate.py --profile-out profile.json -- evaluate --spec ... --out ...
"""
import argparse
import functools
import json
import resource
import sys
import time


def _wrap(module, name, totals):
    original = getattr(module, name)

    @functools.wraps(original)
    def timed(*arguments, **keywords):
        started = time.perf_counter()
        try:
            return original(*arguments, **keywords)
        finally:
            entry = totals.setdefault(name, {"seconds": 0.0, "calls": 0})
            entry["seconds"] += time.perf_counter() - started
            entry["calls"] += 1

    setattr(module, name, timed)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" not in argv:
        print("usage: profile_evaluate.py --profile-out FILE -- <kernelevolve_runtime arguments>", file=sys.stderr)
        return 2
    split = argv.index("--")
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile-out", required=True)
    own = parser.parse_args(argv[:split])
    from kernelevolve_runtime import cli

    from kernelevolve_runtime.fitness import evaluator
    totals = {}
    for name in ("generate_inputs", "run_reference", "load_reference", "_load_all", "check_trial", "output_digest"):
        if hasattr(evaluator, name):
            _wrap(evaluator, name, totals)
    try:  # the shared host arena of the measurement rewrite (dd5d6b0 and later), where it exists
        from kernelevolve_runtime.fitness import shared_arena
    except ImportError:
        shared_arena = None
    arena_class = getattr(shared_arena, "Arena", None)
    for name in ("write_inputs", "fill_canary", "read_outputs", "inputs_changed", "unwritten"):
        if arena_class is not None and hasattr(arena_class, name):
            _wrap(arena_class, name, totals)
    started = time.perf_counter()
    code = cli.main(argv[split + 1:])
    wall = time.perf_counter() - started
    profile = {"wallSeconds": round(wall, 3), "exitCode": code,
               "runtimeSide": {name: {"seconds": round(entry["seconds"], 3), "calls": entry["calls"]} for name, entry in totals.items()},
               "peakRssMiB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    with open(own.profile_out, "w", encoding="utf-8") as handle:
        json.dump(profile, handle, indent=2)
    print(json.dumps(profile))
    return code


if __name__ == "__main__":
    sys.exit(main())
