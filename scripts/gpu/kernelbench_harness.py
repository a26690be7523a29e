"""KernelBench's evaluation loop, re-implemented for a side-by-side comparison with this project's fitness function.

It follows what KernelBench's `eval_kernel_against_ref` does for one candidate (read from its public source; written
here, not copied):
  1. exec the problem source; seed 42 (torch + cuda), build Model(*get_init_inputs()) under that seed;
  2. import the candidate file as a module (KernelBench's tempfile route for Triton), build ModelNew under the same seed,
     move both models to the device;
  3. correctness: from seed 42 draw N trial seeds with torch.randint(0, 2**32 - 1); per trial seed both RNGs, call
     get_inputs() (on the host, as the problem file does), move the inputs to the device, run Model then ModelNew with a
     synchronize after each, compare shapes, then torch.allclose(atol=rtol=tolerance) (1e-2: KernelBench v0/v0.1 fp32);
  4. timing (only when every trial passed): seed 42, fresh get_inputs() moved to the device, 3 warm-up calls each
     followed by a synchronize, empty_cache, then 1 discarded + N timed trials: synchronize, new start/end events,
     write a 256 MB int64 buffer (L2 flush), record start, call, record end, synchronize, elapsed time;
     statistics = mean/std/min/max over the N trials;
  5. the "excessive speed-up" check: the reference Model timed by the same loop on fresh seed-42 inputs.

Usage: python kernelbench_harness.py --problem 19_ReLU.py --candidate modelnew.py --out result.json
       [--correct-trials 5] [--perf-trials 100] [--tolerance 1e-2] [--no-reference-timing]
Wall-clock time per phase goes into the result (phaseSeconds), so the per-candidate cost can be compared.
"""
import argparse
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time

import torch


def set_seed(seed):
    torch.manual_seed(seed)
    torch.cuda.manual_seed(seed)


def synchronize(device):
    """torch.cuda.synchronize on CUDA devices; nothing to wait for on the CPU (the correctness part runs there in tests)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def load_problem(source):
    context = {"__name__": "kernelbench_problem"}
    exec(compile(source, "<problem>", "exec"), context)  # noqa: S102 - the problem file is trusted input
    return context["Model"], context["get_init_inputs"], context["get_inputs"]


def load_candidate(source):
    """Imports the candidate from a temporary .py file (Triton's jit needs a real module file) and returns ModelNew."""
    handle = tempfile.NamedTemporaryFile("w", suffix=".py", delete=False, encoding="utf-8")
    with handle:
        handle.write(source)
    spec = importlib.util.spec_from_file_location("kernelbench_candidate", handle.name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, "ModelNew", None), handle.name


def to_device(value, device, dtype):
    if not isinstance(value, torch.Tensor):
        return value
    return value.to(dtype=dtype).to(device=device)


def clear_l2(device):
    """KernelBench's cache thrash: fill a 32 x 1024 x 1024 int64 tensor (256 MB) before each timed call."""
    buffer = torch.empty((32, 1024, 1024), dtype=torch.int64, device=device)
    buffer.fill_(42)
    del buffer


def time_with_cuda_events(function, arguments, device, warmup=3, trials=100, discard_first=1):
    """Warm-up with a synchronize after each call, then per trial: sync, flush L2, events around one call, sync."""
    for _ in range(warmup):
        function(*arguments)
        torch.cuda.synchronize(device)
    torch.cuda.empty_cache()
    samples = []
    for trial in range(trials + discard_first):
        torch.cuda.synchronize(device)
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        clear_l2(device)
        start.record()
        function(*arguments)
        end.record()
        torch.cuda.synchronize(device)
        if trial >= discard_first:
            samples.append(start.elapsed_time(end))
    return samples


def stats(samples):
    return {"mean": statistics.fmean(samples), "std": statistics.pstdev(samples) if len(samples) > 1 else 0.0,
            "min": min(samples), "max": max(samples), "median": statistics.median(samples), "num_trials": len(samples)}


def check_correctness(model, model_new, get_inputs, trials, seed, device, dtype, tolerance):
    """KernelBench's run_and_check_correctness: every trial must pass; returns (passed, metadata, per-trial seconds)."""
    torch.manual_seed(seed)
    trial_seeds = [torch.randint(0, 2**32 - 1, (1,)).item() for _ in range(trials)]
    metadata, passes, trial_seconds = {}, 0, []
    with torch.no_grad():
        for trial_seed in trial_seeds:
            started = time.perf_counter()
            set_seed(trial_seed)
            host_inputs = get_inputs()
            generated = time.perf_counter()
            inputs = [to_device(value, device, dtype) for value in host_inputs]
            del host_inputs
            synchronize(device)
            moved = time.perf_counter()
            set_seed(trial_seed)
            output = model(*inputs)
            synchronize(device)
            set_seed(trial_seed)
            output_new = model_new(*inputs)
            synchronize(device)
            if output.shape != output_new.shape:
                metadata["correctness_issue"] = f"Output shape mismatch: expected {tuple(output.shape)}, got {tuple(output_new.shape)}"
                return False, metadata, trial_seconds
            if torch.allclose(output, output_new, atol=tolerance, rtol=tolerance):
                passes += 1
            else:
                difference = (output - output_new).abs()
                metadata.setdefault("max_difference", []).append(float(difference.max()))
                metadata.setdefault("avg_difference", []).append(float(difference.mean()))
                metadata["correctness_issue"] = "Output mismatch"
            del inputs, output, output_new
            finished = time.perf_counter()
            trial_seconds.append({"inputsOnHost": generated - started, "toDevice": moved - generated, "runAndCompare": finished - moved})
    metadata["correctness_trials"] = f"({passes} / {trials})"
    return passes == trials, metadata, trial_seconds


def evaluate(problem_source, candidate_source, correct_trials=5, perf_trials=100, seed=42, tolerance=1e-2,
             time_reference=True, device=None, dtype=torch.float32):
    """One candidate through the loop above; a dict like KernelBench's KernelExecResult plus phaseSeconds."""
    device = torch.device(device or "cuda:0")
    torch.cuda.set_device(device)
    phases = {}
    began = time.perf_counter()
    result = {"compiled": False, "correctness": False, "metadata": {"hardware": torch.cuda.get_device_name(device)},
              "runtime": -1.0, "runtime_stats": {}, "ref_runtime": -1.0, "ref_runtime_stats": {}}
    Model, get_init_inputs, get_inputs = load_problem(problem_source)
    set_seed(seed)
    init_inputs = [to_device(value, device, dtype) for value in get_init_inputs()]
    with torch.no_grad():
        set_seed(seed)
        model = Model(*init_inputs)
    candidate_file = None
    try:
        try:
            ModelNew, candidate_file = load_candidate(candidate_source)
            torch.cuda.synchronize(device)
        except Exception as error:  # noqa: BLE001 - a candidate that does not import is a compile failure
            result["metadata"]["compilation_error"] = f"{type(error).__name__}: {error}"
            return result
        if ModelNew is None:
            result["metadata"]["compilation_error"] = "ModelNew not found in the candidate"
            return result
        result["compiled"] = True
        try:
            with torch.no_grad():
                set_seed(seed)
                model_new = ModelNew(*init_inputs)
                model = model.to(device=device, dtype=dtype)
                model_new = model_new.to(device=device, dtype=dtype)
                torch.cuda.synchronize(device)
        except RuntimeError as error:
            result["metadata"]["runtime_error"] = str(error)
            return result
        phases["load"] = time.perf_counter() - began
        started = time.perf_counter()
        try:
            passed, metadata, trial_seconds = check_correctness(model, model_new, get_inputs, correct_trials, seed, device, dtype, tolerance)
        except Exception as error:  # noqa: BLE001 - the candidate raised while running
            passed, metadata, trial_seconds = False, {"runtime_error": f"{type(error).__name__}: {error}"}, []
        result["metadata"].update(metadata)
        result["correctness"] = passed
        result["trialSeconds"] = trial_seconds
        phases["correctness"] = time.perf_counter() - started
        if passed:
            started = time.perf_counter()
            torch.cuda.synchronize(device)
            set_seed(seed)
            inputs = [to_device(value, device, dtype) for value in get_inputs()]
            torch.cuda.synchronize(device)
            phases["timingInputs"] = time.perf_counter() - started
            started = time.perf_counter()
            with torch.no_grad():
                samples = time_with_cuda_events(model_new, inputs, device, trials=perf_trials)
            result["runtime_stats"] = stats(samples)
            result["runtime"] = result["runtime_stats"]["mean"]
            phases["timing"] = time.perf_counter() - started
            if time_reference:
                del inputs
                started = time.perf_counter()
                set_seed(seed)
                inputs = [to_device(value, device, dtype) for value in get_inputs()]
                with torch.no_grad():
                    reference_samples = time_with_cuda_events(model, inputs, device, trials=perf_trials)
                result["ref_runtime_stats"] = stats(reference_samples)
                result["ref_runtime"] = result["ref_runtime_stats"]["mean"]
                result["speedup"] = result["ref_runtime"] / result["runtime"]
                phases["referenceTiming"] = time.perf_counter() - started
            del inputs
    finally:
        torch.cuda.empty_cache()
        torch.cuda.synchronize(device)
        if candidate_file:
            os.unlink(candidate_file)
        phases["total"] = time.perf_counter() - began
        result["phaseSeconds"] = {name: round(value, 3) for name, value in phases.items()}
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problem", required=True, help="KernelBench problem file (Model, get_inputs, get_init_inputs)")
    parser.add_argument("--candidate", required=True, help="file defining class ModelNew")
    parser.add_argument("--out", required=True, help="result JSON")
    parser.add_argument("--correct-trials", type=int, default=5)
    parser.add_argument("--perf-trials", type=int, default=100)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--tolerance", type=float, default=1e-2)
    parser.add_argument("--no-reference-timing", action="store_true", help="skip the excessive-speed-up check's reference timing")
    arguments = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("kernelbench_harness: no CUDA device; KernelBench's loop needs one", file=sys.stderr)
        return 3
    with open(arguments.problem, encoding="utf-8") as handle:
        problem_source = handle.read()
    with open(arguments.candidate, encoding="utf-8") as handle:
        candidate_source = handle.read()
    result = evaluate(problem_source, candidate_source, arguments.correct_trials, arguments.perf_trials, arguments.seed,
                      arguments.tolerance, not arguments.no_reference_timing)
    with open(arguments.out, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=2, default=str)
    print(json.dumps({key: result.get(key) for key in ("compiled", "correctness", "runtime", "ref_runtime", "speedup", "phaseSeconds")}))
    return 0 if result["correctness"] else 1


if __name__ == "__main__":
    sys.exit(main())
