"""The Python worker: runs a candidate module (KernelBench ModelNew, Triton launcher, CUDA library) or the spec's reference
on buffers the runtime owns (shared_arena), one block of calls per command.

It measures nothing and decides nothing: the runtime times each block by its own clock around the exchange,
freezes this process (SIGSTOP) before reading the outputs and inputs back from the shared file, and judges
them. Everything this process writes on its pipe is untrusted except that a failure it reports counts against
the candidate. The runtime's commands are text lines (the same as the native harness reads):

    L <size> <S> <K> <in base> <in stride> <out base> <out stride> <in offsets> <out offsets> <dims> <scalars>
    I            (device platforms) copy the input sets and the output canaries to the device
    R <count> <c|r|t>   count calls of the candidate, the reference or torch.compile of the reference
    P            copy the reference's results of calls 0..S-1 into output sets 0..S-1 (reference worker)
    O            (device platforms) copy the last block's outputs and the inputs after it to host memory, untimed
    Q            exit
"""
import json
import mmap
import os
import traceback

import torch

from .inputs import TORCH_DTYPES
from ..platforms.base import CandidateViolation, MissingEntry
from ..platforms.registry import create_platform
from ..contract.spec import resolve_shape

TARGETS = {"c": "candidate", "r": "reference", "t": "torch_compile"}


def _overlaps(first, second):
    start_a, end_a = first.untyped_storage().data_ptr(), first.untyped_storage().data_ptr() + first.untyped_storage().nbytes()
    start_b, end_b = second.untyped_storage().data_ptr(), second.untyped_storage().data_ptr() + second.untyped_storage().nbytes()
    return start_a < end_b and start_b < end_a and end_a > start_a and end_b > start_b


def _failure(error):
    if type(error).__name__ in ("ForbiddenCall", "ForbiddenImport"):
        # Raised by the audit guard (audit_guard.py) inside the candidate's code.
        return {"ok": False, "reason": "forbidden_call", "message": str(error)[:500], "log": ""}
    if isinstance(error, CandidateViolation):
        return {"ok": False, "reason": error.reason, "message": str(error)[:500], "log": ""}
    reason = "memory_limit" if isinstance(error, MemoryError) else "runtime_error"
    return {"ok": False, "reason": reason, "message": f"{type(error).__name__}: {error}"[:500], "log": traceback.format_exc()[-3000:]}


def _install_audit_guard(job, platform):
    """Irremovable audit hooks right before the candidate's module is imported (python/kernelevolve_runtime/sandbox/audit_guard.py)."""
    from ..sandbox import audit_guard

    directory = os.getcwd()
    on_gpu = bool(getattr(platform, "has_gpu", False))
    policy = {"private_dir": directory, "candidate_files": [os.path.abspath(job["artifact"])],
              "writable_dirs": [path for path in (os.environ.get("TRITON_CACHE_DIR"),) if path],
              # Without a GPU nothing a Python candidate runs needs a process (Triton's compiler does on a GPU).
              "no_processes": not on_gpu}
    if on_gpu and job["platform"] == "triton":
        import triton

        triton.runtime.driver.active.get_current_device()  # the driver loads through ctypes: before the guard
        policy["allowed_executables"] = ("ptxas", "gcc", "cc", "clang")
    return audit_guard.install(policy)


def _guard_violation(guard):
    """The first violation the audit guard recorded (even if the candidate caught the exception), as a failed answer."""
    found = guard.violations() if guard is not None else []
    if not found:
        return None
    first = found[0]
    return {"ok": False, "reason": "forbidden_call", "message": str(first.get("message", first) if isinstance(first, dict) else first)[:500], "log": ""}


class WorkerState:
    """One worker's spec, platform, mapped buffers, candidate or reference, and the current layout's bindings."""

    def __init__(self, job):
        self.spec = job["spec"]
        self.role = job.get("role", "candidate")
        self.platform = create_platform(job["platform"])
        self.platform.worker_setup(int(job["threads"]))
        self.device = torch.device(self.platform.device_type if self.platform.device_type != "cpu" and self._has_device() else "cpu")
        descriptor = os.open(job["arena"], os.O_RDWR | os.O_NOFOLLOW)
        try:
            self.mapping = mmap.mmap(descriptor, int(job["arenaBytes"]), mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        finally:
            os.close(descriptor)
        self.arena = torch.frombuffer(self.mapping, dtype=torch.uint8)
        namespace = {"__name__": "reference"}
        exec(compile(self.spec["reference"], "<reference>", "exec"), namespace)  # noqa: S102 - the spec's reference is trusted code
        self.reference = namespace["reference"]
        self.compiled_reference = None
        self.kernel = None
        self.guard = None
        if job.get("artifact"):
            self.guard = _install_audit_guard(job, self.platform)
            self.kernel = self.platform.load(job["artifact"], job["language"], self.spec)
        self.layout = None

    def _has_device(self):
        return bool(getattr(self.platform, "has_gpu", False))

    def _view(self, offset, shape, dtype):
        count = 1
        for extent in shape:
            count *= int(extent)
        width = torch.empty(0, dtype=TORCH_DTYPES[dtype]).element_size()
        return self.arena[offset:offset + count * width].view(TORCH_DTYPES[dtype]).reshape(shape)

    def set_layout(self, fields):
        """`L`: host views over the shared sets, device copies where the platform has a device, and the candidate's bindings."""
        spec = self.spec
        size = list(spec["sizes"])[int(fields[0])]
        input_sets, output_sets, input_base, input_stride, output_base, output_stride = (int(value) for value in fields[1:7])
        at = 7
        input_positions = [int(value) for value in fields[at:at + len(spec["inputs"])]]
        at += len(spec["inputs"])
        output_positions = [int(value) for value in fields[at:at + len(spec["outputs"])]]
        at += len(spec["outputs"])
        dimensions = [int(value) for value in fields[at:at + len(spec["dimensions"])]]
        at += len(spec["dimensions"])
        scalar_values = [float(value) for value in fields[at:at + len(spec["scalars"])]]
        sizes = spec["sizes"][size]
        input_specs = [(resolve_shape(tensor["shape"], sizes), tensor["dtype"]) for tensor in spec["inputs"]]
        output_specs = [(resolve_shape(tensor["shape"], sizes), tensor["dtype"]) for tensor in spec["outputs"]]
        host_inputs = [[self._view(input_base + index * input_stride + position, shape, dtype)
                        for position, (shape, dtype) in zip(input_positions, input_specs)] for index in range(input_sets)]
        # The reference publishes one result per input set; only a candidate writes every output set.
        used_outputs = output_sets if self.role == "candidate" else min(input_sets, output_sets)
        host_outputs = [[self._view(output_base + index * output_stride + position, shape, dtype)
                         for position, (shape, dtype) in zip(output_positions, output_specs)] for index in range(used_outputs)]
        on_device = self.device.type != "cpu"
        inputs = [[torch.empty_like(tensor, device=self.device) for tensor in group] for group in host_inputs] if on_device else host_inputs
        outputs = [[torch.empty_like(tensor, device=self.device) for tensor in group] for group in host_outputs] if on_device else host_outputs
        scalars = dict(zip(spec["scalars"], scalar_values))
        bindings = None
        if self.role == "candidate" and self.kernel is not None:
            bindings = [self.kernel.bind(inputs[index % input_sets], dimensions, scalars, output_specs, outputs=outputs[index])
                        for index in range(output_sets)]
        self.layout = {"inputs": inputs, "outputs": outputs, "hostInputs": host_inputs, "hostOutputs": host_outputs, "scalars": scalars,
                       "bindings": bindings, "outputSpecs": output_specs, "retained": [], "onDevice": on_device,
                       "alias": set()}
        return {"ok": True}

    def load_device(self):
        """`I`: the runtime's input sets and output canaries, copied to the device (nothing to do on the host)."""
        layout = self._current()
        if layout["onDevice"]:
            for source, target in zip(layout["hostInputs"] + layout["hostOutputs"], layout["inputs"] + layout["outputs"]):
                for host, device in zip(source, target):
                    device.copy_(host)
            torch.cuda.synchronize()
        return {"ok": True}

    def _current(self):
        if self.layout is None:
            raise RuntimeError("no layout")
        return self.layout

    def _store(self, position_set, result, inputs=()):
        """Copies a returned output list into output set `position_set`, refusing the wrong count, dtype, shape, device or
        and noting an output that shares memory with an input (a courtesy report: this process is untrusted, but the
        copy into the runtime's buffers happens inside the timed block, so returning a view saves no time)."""
        layout = self._current()
        results = list(result) if isinstance(result, (tuple, list)) else [result]
        if len(results) != len(layout["outputSpecs"]):
            raise CandidateViolation("wrong_shape", f"expected {len(layout['outputSpecs'])} outputs, got {len(results)}")
        for position, (value, (shape, dtype), target) in enumerate(zip(results, layout["outputSpecs"], layout["outputs"][position_set])):
            if not isinstance(value, torch.Tensor):
                raise CandidateViolation("wrong_dtype", f"output {position} is a {type(value).__name__}, not a tensor")
            if value.device.type != self.device.type:
                raise CandidateViolation("wrong_device", f"output {position} is on {value.device}, expected {self.device.type}")
            if value.dtype != TORCH_DTYPES[dtype]:
                raise CandidateViolation("wrong_dtype", f"output {position} is {value.dtype}, expected {dtype}")
            if list(value.shape) != list(shape):
                raise CandidateViolation("wrong_shape", f"output {position} has shape {list(value.shape)}, expected {list(shape)}")
            if any(_overlaps(value, tensor) for tensor in inputs):
                layout["alias"].add(position)
            target.copy_(value)

    def run(self, count, target):
        """`R`: count calls; call i reads input set i mod S and writes (or, for a returning model, is copied into) output set i."""
        layout = self._current()
        inputs, scalars = layout["inputs"], layout["scalars"]
        input_sets = len(inputs)
        if target == "candidate" and count > len(layout["outputs"]):
            raise RuntimeError("more calls than output sets")
        layout["alias"] = set()
        if target == "candidate":
            bindings = layout["bindings"]
            store = self.kernel.returns_outputs
            for index in range(count):
                result = bindings[index]()
                if store:
                    self._store(index, result, inputs[index % input_sets])
        else:
            function = self._reference_function(target)
            retained = []
            with torch.no_grad():
                for index in range(count):
                    result = function(*inputs[index % input_sets], **scalars)
                    # Only the first S results are kept (one per input set), so the allocator reuses the rest as in normal use.
                    if index < input_sets:
                        retained.append(result)
            layout["retained"] = retained
        if layout["onDevice"]:
            # Device-wide: work the candidate queued on any stream is done before the block's answer (and its time).
            torch.cuda.synchronize()
        layout["lastCount"] = count
        return {"ok": True, "alias": sorted(layout["alias"])}

    def copy_out(self):
        """`O` (device platforms, untimed): the last block's output sets and the inputs after its calls, into host memory.

        Outside the timed block, so the transfer weighs on neither side's time (the reference's outputs travel the same
        way in `P`). No candidate code runs here: its calls are over, every stream was synchronised before the block's
        answer, and thread starts are refused (audit guard; no pthread_create in a native GPU object, symbol_policy), so
        nothing can finish work the timed calls skipped.
        """
        layout = self._current()
        if layout["onDevice"]:
            for index in range(int(layout.get("lastCount", 0))):
                for host, device in zip(layout["hostOutputs"][index], layout["outputs"][index]):
                    host.copy_(device)
            for host_group, device_group in zip(layout["hostInputs"], layout["inputs"]):
                for host, device in zip(host_group, device_group):
                    host.copy_(device)
            torch.cuda.synchronize()
        return {"ok": True}

    def _reference_function(self, target):
        if target == "torch_compile":
            if self.compiled_reference is None:
                self.compiled_reference = torch.compile(self.reference)
            return self.compiled_reference
        return self.reference

    def publish(self):
        """`P`: the reference's first S results into output sets 0..S-1 of the host buffers."""
        layout = self._current()
        for index, result in enumerate(layout["retained"]):
            self._store(index, result)
            if layout["onDevice"]:
                for host, device in zip(layout["hostOutputs"][index], layout["outputs"][index]):
                    host.copy_(device)
        layout["retained"] = []
        return {"ok": True}

    def handle(self, line):
        """One command line; returns the answer."""
        fields = line.split()
        op = fields[0] if fields else ""
        if op == "L":
            return self.set_layout(fields[1:])
        if op == "I":
            return self.load_device()
        if op == "R":
            return self.run(int(fields[1]), TARGETS[fields[2]])
        if op == "P":
            return self.publish()
        if op == "O":
            return self.copy_out()
        raise ValueError(f"unknown command {op!r}")


def serve_worker(command_descriptor, response_descriptor):
    """Reads the job (one JSON line), then text commands until `Q` or the end of the channel."""
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
    answer(_guard_violation(state.guard) or {"ok": True, "ready": True})
    for line in reader:
        if line.strip() == "Q":
            answer({"ok": True})
            return
        try:
            result = state.handle(line)
        except Exception as error:  # noqa: BLE001 - reported to the runtime as the candidate's failure
            result = _failure(error)
        answer(_guard_violation(state.guard) or result)
