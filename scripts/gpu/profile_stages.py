"""Times, one by one and outside the sandbox, the steps one correctness trial of this project's evaluator is made of,
at a spec's size, with the project's own functions, next to the device-side alternatives.

Steps (seconds each, one trial's worth; repeated --repeat times, the median kept):
  host_generate        generate_inputs(spec, size, seed) on the host (what runtime and worker each do per trial)
  device_generate      generate_inputs(..., device='cuda') when inputs.py supports it (the proposed replacement)
  to_device            the host inputs copied to the GPU (worker: platform.place)
  candidate            the candidate's call on the GPU (a ModelNew file, when given)
  save_npy             outputs and post-call inputs copied back and written as .npy (worker: save_tensor)
  load_npy             the same files read back (runtime: load_tensor)
  reference_host       run_reference on the host: declared dtype and float64 (runtime)
  reference_device     the same reference on the GPU in float32 and float64 (the proposed replacement)
  check_host           compare.check_trial on the host tensors (runtime)
  check_device         the same comparison on device tensors (allclose-style, float64 error, finite check)
Writes a JSON with the seconds and the bytes per tensor. Usage:
  PYTHONPATH=python python scripts/gpu/profile_stages.py --spec relu.json --size bench --candidate modelnew.py --out stages.json
"""
import argparse
import importlib.util
import inspect
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

import torch

from kernelevolve_runtime.arrays import load_tensor, save_tensor
from kernelevolve_runtime.fitness.compare import check_trial
from kernelevolve_runtime.fitness.inputs import generate_inputs
from kernelevolve_runtime.fitness.reference import load_reference, run_reference
from kernelevolve_runtime.contract.spec import load_spec


DEVICE = "cuda"


def _sync():
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def _timed(function):
    _sync()
    started = time.perf_counter()
    value = function()
    _sync()
    return value, time.perf_counter() - started


def _load_model(path, spec):
    module_spec = importlib.util.spec_from_file_location("profiled_candidate", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.ModelNew(*spec.get("initInputs", [])).to(DEVICE).eval()


def one_trial(spec, size, seed, reference, model, scratch, device_inputs):
    seconds = {}
    inputs, seconds["host_generate"] = _timed(lambda: generate_inputs(spec, size, seed))
    if device_inputs:
        generated, seconds["device_generate"] = _timed(lambda: generate_inputs(spec, size, seed, device=DEVICE))
        del generated
    placed, seconds["to_device"] = _timed(lambda: [tensor.to(DEVICE) for tensor in inputs])
    if model is not None:
        with torch.no_grad():
            result, seconds["candidate"] = _timed(lambda: model(*placed))
        outputs = list(result) if isinstance(result, (tuple, list)) else [result]
    else:
        outputs = [tensor.clone() for tensor in placed[:len(spec["outputs"])]]

    def save():
        saved = [save_tensor(os.path.join(scratch, f"out_{index}.npy"), tensor) for index, tensor in enumerate(outputs)]
        saved += [save_tensor(os.path.join(scratch, f"in_{index}.npy"), tensor) for index, tensor in enumerate(placed)]
        return saved

    descriptions, seconds["save_npy"] = _timed(save)
    loaded, seconds["load_npy"] = _timed(lambda: [load_tensor(scratch, description, 1 << 40) for description in descriptions])
    (expected, expected64), seconds["reference_host"] = _timed(lambda: run_reference(reference, spec, inputs))
    count = len(outputs)
    _, seconds["check_host"] = _timed(lambda: check_trial(spec, size, loaded[:count], expected, expected64, inputs,
                                                          loaded[count:], []))
    del loaded, expected, expected64
    for name in os.listdir(scratch):
        os.unlink(os.path.join(scratch, name))
    del inputs
    (device_expected, device_expected64), seconds["reference_device"] = _timed(lambda: run_reference(reference, spec, placed))

    def device_check():
        verdicts = []
        for actual, wanted, wanted64 in zip(outputs, device_expected, device_expected64 or [None] * count):
            ok = bool(torch.isfinite(actual).all()) and bool(torch.allclose(actual, wanted, atol=1e-2, rtol=1e-2))
            if wanted64 is not None:
                error = (actual - wanted64).abs_().max().item()  # float64 by promotion, one temporary
                verdicts.append((ok, error))
            else:
                verdicts.append((ok, None))
        return verdicts

    _, seconds["check_device"] = _timed(device_check)
    return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", required=True)
    parser.add_argument("--size", required=True)
    parser.add_argument("--candidate", help="a ModelNew file to call on the GPU (else the outputs are copies of inputs)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--scratch", help="folder for the .npy files (default: a temporary folder under /tmp)")
    parser.add_argument("--device", default="cuda", help="cuda (default), or cpu for a smoke test (Triton candidates need TRITON_INTERPRET=1)")
    arguments = parser.parse_args(argv)
    global DEVICE
    DEVICE = arguments.device
    if DEVICE == "cuda" and not torch.cuda.is_available():
        print("profile_stages: no CUDA device", file=sys.stderr)
        return 3
    spec = load_spec(arguments.spec)
    reference = load_reference(spec["reference"])
    model = _load_model(arguments.candidate, spec) if arguments.candidate else None
    device_inputs = "device" in inspect.signature(generate_inputs).parameters
    scratch = arguments.scratch or tempfile.mkdtemp(prefix="profile-stages-")
    os.makedirs(scratch, exist_ok=True)
    runs = []
    try:
        for repeat in range(arguments.repeat):
            runs.append(one_trial(spec, arguments.size, 1000 + repeat, reference, model, scratch, device_inputs))
            print(json.dumps({"repeat": repeat, "seconds": {key: round(value, 3) for key, value in runs[-1].items()}}), flush=True)
    finally:
        if not arguments.scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    sample = generate_inputs(spec, arguments.size, 0)
    summary = {"spec": spec["id"], "size": arguments.size, "device": torch.cuda.get_device_name(0) if DEVICE == "cuda" else "cpu",
               "inputBytes": [tensor.numel() * tensor.element_size() for tensor in sample],
               "inputShapes": [list(tensor.shape) for tensor in sample], "repeats": len(runs),
               "medianSeconds": {key: round(statistics.median(run[key] for run in runs), 3) for key in runs[0]},
               "runs": runs}
    with open(arguments.out, "w", encoding="utf-8") as handle:
        json.dump(summary, handle, indent=2)
    print(json.dumps(summary["medianSeconds"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
