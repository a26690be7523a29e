"""The `triton` platform: a Python module with @triton.jit kernels and a `kernel(...)` launcher (docs/abi-triton.md).

On a host without a CUDA device the kernels run in Triton's CPU interpreter on CPU tensors:
correctness is checked, timing is skipped (the results say so).
"""
import importlib.util
import os
import sys

from ..gpu.device import GpuPlatform
from ..gpu.launch_guard import GuardedKernel, LaunchGuard, install_triton_launch_hooks
from .base import CompileResult, MissingEntry
from .python_module import load_model_module


class TritonBinding:
    """One call of the launcher on fixed inputs, preallocated outputs, dimensions and scalars."""

    def __init__(self, function, inputs, outputs, dimensions, scalars):
        self.function = function
        self.inputs = inputs
        self.outputs = outputs
        self.arguments = [*inputs, *outputs, *dimensions, *scalars]

    def __call__(self):
        self.function(*self.arguments)
        return self.outputs


class TritonKernel:
    """A loaded module's `kernel` launcher."""

    returns_outputs = False

    def __init__(self, function):
        self.function = function

    def bind(self, inputs, dimensions, scalars, output_specs, outputs):
        """One launcher call on the runtime's output buffers; dimensions go as int, scalars as float, in spec order."""
        return TritonBinding(self.function, inputs, outputs, [int(value) for value in dimensions], [float(value) for value in scalars.values()])


class TritonPlatform(GpuPlatform):
    """Triton kernels on CUDA device 0, or in Triton's interpreter on the CPU where there is no device (untimed)."""

    id = "triton"
    languages = ("triton", "python")
    default_capacity = 1
    artifact_names = {"triton": "candidate.py", "python": "candidate.py"}

    def __init__(self, cache_dir=None):
        super().__init__(cache_dir)
        self.interpret = not self.has_gpu
        self.device_type = "cpu" if self.interpret else "cuda"

    def availability(self):
        """Available where triton imports; without a GPU it runs in the interpreter (correctness only)."""
        if importlib.util.find_spec("triton") is None:
            return False, "triton is not installed"
        if self.interpret:
            return True, "no CUDA device: Triton's CPU interpreter checks correctness, timing is skipped"
        return True, None

    def timing_skipped(self):
        """Interpreter timings say nothing about a GPU."""
        if self.interpret:
            return "no CUDA device, the kernels ran in Triton's CPU interpreter (TRITON_INTERPRET=1)"
        return None

    def compiler_version(self):
        """Triton's version (its compiler is part of the package)."""
        spec = importlib.util.find_spec("triton")
        if spec is None:
            return None
        from importlib.metadata import PackageNotFoundError, version

        try:
            return f"triton {version('triton')}"
        except PackageNotFoundError:
            return "triton"

    def gpu_notes(self):
        """Where the kernels run and where Triton caches its builds."""
        if self.interpret:
            return ["Triton interpreter on the CPU (TRITON_INTERPRET=1): correctness only, no timings"]
        return ["Triton compiles on first launch inside the confined worker; its cache lives in the worker's private folder"]

    def compile(self, candidate, options, sandbox):
        """No ahead-of-time build (Triton compiles on first launch): a syntax check, then the source is the artifact."""
        if candidate["language"] not in ("triton", "python"):
            return CompileResult(reason="unsupported_platform", message=f"platform triton cannot run {candidate['language']}")
        try:
            compile(candidate["source"], "candidate.py", "exec")
        except SyntaxError as error:
            return CompileResult(reason="compile_error", message=f"line {error.lineno}: {error.msg}",
                                 log=f"candidate.py:{error.lineno}:{error.offset}: SyntaxError: {error.msg}\n{error.text or ''}")
        return self._source_artifact(candidate["source"], "candidate.py")

    def worker_environment(self, directory):
        """Triton's cache in the private folder (a cache shared between candidates could be poisoned); the interpreter without a GPU."""
        environment = super().worker_environment(directory)
        environment["TRITON_CACHE_DIR"] = os.path.join(directory, "triton-cache")
        if self.interpret:
            environment["TRITON_INTERPRET"] = "1"
        return environment

    def load(self, artifact_path, language, spec):
        """Imports the module with launch hooks installed; every binding runs its first calls under the launch guard."""
        guard = LaunchGuard()
        install_triton_launch_hooks(guard)
        if language == "python":
            return GuardedKernel(load_model_module(artifact_path, spec, self.place), guard, require_launch=False)
        if language != "triton":
            raise MissingEntry(f"platform triton cannot load {language}")
        module_spec = importlib.util.spec_from_file_location("candidate", artifact_path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules["candidate"] = module
        module_spec.loader.exec_module(module)
        function = getattr(module, "kernel", None)
        if not callable(function):
            raise MissingEntry("the module defines no launcher function `kernel(*inputs, *outputs, *dimensions, *scalars)`")
        return GuardedKernel(TritonKernel(function), guard, require_launch=True)
