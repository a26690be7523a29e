"""The confined worker's command loop: loads the candidate, runs trials and timing loops on the runtime's request.

Nothing here decides pass or fail: it hands outputs and the post-call inputs back as files, and the
runtime checks them against its own reference. Everything this process reports is untrusted.
"""
import json
import os
import time
import traceback

import torch

from .arrays import save_tensor
from .inputs import generate_inputs, output_shapes
from .platforms.base import CandidateViolation, MissingEntry
from .platforms.registry import create_platform
from .timing import measure


def _storage_range(tensor):
    storage = tensor.untyped_storage()
    return storage.data_ptr(), storage.data_ptr() + storage.nbytes()


def _overlaps(first, second):
    start_a, end_a = _storage_range(first)
    start_b, end_b = _storage_range(second)
    return start_a < end_b and start_b < end_a and end_a > start_a and end_b > start_b


def _failure(error):
    reason = "memory_limit" if isinstance(error, MemoryError) else "runtime_error"
    if isinstance(error, CandidateViolation):
        return {"ok": False, "reason": error.reason, "message": str(error)[:500], "log": ""}
    return {"ok": False, "reason": reason, "message": f"{type(error).__name__}: {error}"[:500], "log": traceback.format_exc()[-3000:]}


class WorkerState:
    """What one worker keeps between commands: the spec, the platform, the loaded candidate and prepared calls."""

    def __init__(self, job):
        self.spec = job["spec"]
        self.platform = create_platform(job["platform"])
        self.platform.worker_setup(int(job["threads"]))
        namespace = {"__name__": "reference"}
        exec(compile(self.spec["reference"], "<reference>", "exec"), namespace)  # noqa: S102 - the spec's reference is trusted code
        self.reference = namespace["reference"]
        self.kernel = None
        if job.get("artifact"):
            self.kernel = self.platform.load(job["artifact"], job["language"], self.spec)
        self.trial_buffers = {}
        self.prepared = {}
        self.compiled_reference = None

    def _arguments(self, size):
        dimensions = self.spec["sizes"][size]
        return [int(dimensions[name]) for name in self.spec["dimensions"]], dict(self.spec["scalars"])

    def _output_specs(self, size):
        return list(zip(output_shapes(self.spec, size), [tensor["dtype"] for tensor in self.spec["outputs"]]))

    def trial(self, command):
        """One checked call; odd trials reuse the previous buffers so caches keyed by pointer are caught."""
        size, index = command["size"], int(command["index"])
        fresh = generate_inputs(self.spec, size, int(command["seed"]))
        dimensions, scalars = self._arguments(size)
        if command.get("reuse") and size in self.trial_buffers:
            inputs, binding = self.trial_buffers[size]
            for target, values in zip(inputs, fresh):
                target.copy_(self.platform.place(values))
            binding.refill()
        else:
            inputs = [self.platform.place(tensor) for tensor in fresh]
            binding = self.kernel.bind(inputs, dimensions, scalars, self._output_specs(size))
            self.trial_buffers[size] = (inputs, binding)
        self.platform.synchronize()
        started = time.perf_counter()
        outputs = binding()
        self.platform.synchronize()
        call_ms = (time.perf_counter() - started) * 1000
        for position, output in enumerate(outputs):
            if not isinstance(output, torch.Tensor):
                return {"ok": False, "reason": "wrong_dtype", "message": f"output {position} is a {type(output).__name__}, not a tensor"}
        alias = []
        if self.kernel.returns_outputs:
            alias = [position for position, output in enumerate(outputs) if any(_overlaps(output, tensor) for tensor in inputs)]
        devices = sorted({str(output.device) for output in outputs})
        saved_outputs = [save_tensor(f"out_{index}_{position}.npy", output) for position, output in enumerate(outputs)]
        saved_inputs = [save_tensor(f"in_{index}_{position}.npy", tensor) for position, tensor in enumerate(inputs)]
        return {"ok": True, "outputs": saved_outputs, "inputs": saved_inputs, "alias": alias, "devices": devices, "callMs": call_ms}

    def prepare(self, command):
        """Generates timing inputs for a size and binds the candidate and the reference to them."""
        size = command["size"]
        inputs = [self.platform.place(tensor) for tensor in generate_inputs(self.spec, size, int(command["seed"]))]
        dimensions, scalars = self._arguments(size)
        prepared = {"inputs": inputs}
        if self.kernel is not None:
            prepared["candidate"] = self.kernel.bind(inputs, dimensions, scalars, self._output_specs(size))
        reference = self.reference

        def call_reference():
            with torch.no_grad():
                return reference(*inputs, **scalars)

        prepared["reference"] = call_reference
        self.prepared = prepared
        return {"ok": True}

    def _target(self, name):
        if name == "torch_compile":
            if self.compiled_reference is None:
                self.compiled_reference = torch.compile(self.reference)
            inputs, scalars = self.prepared["inputs"], dict(self.spec["scalars"])
            compiled = self.compiled_reference

            def call_compiled():
                with torch.no_grad():
                    return compiled(*inputs, **scalars)

            return call_compiled
        if name not in self.prepared:
            raise KeyError(f"nothing prepared for '{name}'")
        return self.prepared[name]

    def warmup(self, command):
        """Untimed calls (for torch.compile, this is where it compiles)."""
        call = self._target(command["target"])
        for _ in range(int(command["count"])):
            call()
        self.platform.synchronize()
        return {"ok": True}

    def time(self, command):
        """A timing loop; the samples go back to the runtime, which checks them against its wall clock."""
        call = self._target(command["target"])
        loop = self.platform.timed_loop(command["target"])
        limits = (float(command["minTimeMs"]), int(command["minRepetitions"]), int(command["maxRepetitions"]))
        samples = loop(call, *limits) if loop else measure(call, self.platform.synchronize, 0, *limits)
        return {"ok": True, "samplesMs": samples}

    def time_pair(self, command):
        """Times two targets interleaved (A, B, A, B, ...) on the prepared inputs, so machine noise hits both alike.

        Stops when both have minRepetitions samples and together minTimeMs per target, or at maxRepetitions.
        A platform with its own loop (GPU events) is interleaved in blocks of that loop.
        """
        names = list(command["targets"])
        calls = [self._target(name) for name in names]
        loops = [self.platform.timed_loop(name) for name in names]
        block = 1 if not any(loops) else max(1, int(command.get("platformBlock", 10)))
        min_time_ms, minimum, maximum = float(command["minTimeMs"]), int(command["minRepetitions"]), int(command["maxRepetitions"])
        samples = [[] for _ in names]
        total = 0.0
        while len(samples[0]) < maximum and (len(samples[0]) < minimum or total < min_time_ms * len(names)):
            count = min(block, maximum - len(samples[0]))
            for position, (call, loop) in enumerate(zip(calls, loops)):
                taken = loop(call, 0.0, count, count) if loop else measure(call, self.platform.synchronize, 0, 0.0, count, count)
                samples[position].extend(taken)
                total += sum(taken)
        return {"ok": True, "samplesMs": dict(zip(names, samples))}


def serve_worker(command_descriptor, response_descriptor):
    """Reads JSON commands, one per line, until `exit` or the end of the channel."""
    reader = os.fdopen(command_descriptor, "r", encoding="utf-8")
    writer = os.fdopen(response_descriptor, "w", encoding="utf-8")

    def answer(message):
        writer.write(json.dumps(message) + "\n")
        writer.flush()

    job = json.loads(reader.readline())
    try:
        state = WorkerState(job)
    except MissingEntry as error:
        answer({"ok": False, "reason": "missing_entry", "message": str(error)})
        return
    except OSError as error:
        # dlopen failures (unresolved symbols) surface as OSError.
        reason = "missing_entry" if "undefined symbol" in str(error) else "runtime_error"
        answer({"ok": False, "reason": reason, "message": str(error)[:500]})
        return
    except Exception as error:  # noqa: BLE001 - the candidate's module code may raise anything
        answer(_failure(error))
        return
    answer({"ok": True, "ready": True})
    handlers = {"trial": state.trial, "prepare": state.prepare, "warmup": state.warmup, "time": state.time,
                "time_pair": state.time_pair}
    for line in reader:
        command = json.loads(line)
        if command.get("op") == "exit":
            answer({"ok": True})
            return
        try:
            answer(handlers[command["op"]](command))
        except Exception as error:  # noqa: BLE001 - reported to the runtime as the candidate's failure
            answer(_failure(error))
