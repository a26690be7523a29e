"""Kernel artifacts a swap can install: a C++ source or shared library of the cpu platform ABI (docs/abi-cpu.md),
or a Python module with a `kernel(*inputs, *outputs, *dims, *scalars)` launcher (a Triton kernel, docs/abi-triton.md)."""
from __future__ import annotations

import ctypes
import hashlib
import importlib.util
import os
import subprocess
import tempfile
from typing import Any, Callable, Sequence

import torch

CPU_FLAGS = ["-std=c++17", "-O3", "-march=native", "-fopenmp", "-fPIC", "-shared"]  # the cpu platform's flags
_POINTER_TYPES = {torch.float32, torch.float64, torch.int64, torch.int32, torch.uint8, torch.bool, torch.float16, torch.bfloat16}


class ArtifactError(RuntimeError):
    """A kernel artifact that cannot be built or loaded."""


def _cache_dir() -> str:
    folder = os.environ.get("KERNELEVOLVE_SWAP_CACHE") or os.path.join(tempfile.gettempdir(), "kernelevolve-swap")
    os.makedirs(folder, exist_ok=True)
    return folder


def compile_cpp(source_path: str) -> str:
    """Compiles a C++ kernel with the cpu platform's flags into a cached shared library; returns its path."""
    with open(source_path, "rb") as handle:
        source = handle.read()
    digest = hashlib.sha256(source + " ".join(CPU_FLAGS).encode()).hexdigest()[:20]
    target = os.path.join(_cache_dir(), f"{digest}.so")
    if os.path.isfile(target):
        return target
    partial = f"{target}.{os.getpid()}.tmp"
    result = subprocess.run(["g++", *CPU_FLAGS, "-o", partial, source_path], capture_output=True, text=True)
    if result.returncode != 0:
        raise ArtifactError(f"g++ failed on {source_path}:\n{result.stderr[-2000:]}")
    os.replace(partial, target)
    return target


class Artifact:
    """A loaded kernel: call(inputs, outputs, dims, scalars) fills the preallocated outputs."""

    path: str
    language: str

    def call(self, inputs: Sequence[torch.Tensor], outputs: Sequence[torch.Tensor], dims: Sequence[int], scalars: Sequence[float]) -> None:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"path": self.path, "language": self.language}


class CppArtifact(Artifact):
    """A cpu-platform kernel (`extern "C" void kernel(...)`) called through ctypes on the tensors' data pointers."""

    language = "cpp"

    def __init__(self, path: str):
        if not os.path.isfile(path):
            raise ArtifactError(f"kernel not found: {path}")
        self.path = os.path.abspath(path)
        self.library_path = self.path if path.endswith(".so") else compile_cpp(self.path)
        try:
            self.library = ctypes.CDLL(self.library_path)
            self.function = self.library.kernel
        except (OSError, AttributeError) as error:
            raise ArtifactError(f"{path}: no loadable `kernel` symbol ({error})") from error
        self.function.restype = None
        self._arity: tuple[int, int, int, int] | None = None

    def call(self, inputs, outputs, dims, scalars) -> None:
        tensors = list(inputs) + list(outputs)
        for tensor in tensors:
            if tensor.device.type != "cpu" or not tensor.is_contiguous() or tensor.dtype not in _POINTER_TYPES:
                raise ArtifactError(f"{self.path}: cpu kernels take contiguous CPU tensors, got {tensor.dtype} on {tensor.device}")
        arity = (len(inputs), len(outputs), len(dims), len(scalars))
        if self._arity != arity:
            self.function.argtypes = [ctypes.c_void_p] * len(tensors) + [ctypes.c_int64] * len(dims) + [ctypes.c_double] * len(scalars)
            self._arity = arity
        self.function(*[tensor.data_ptr() for tensor in tensors], *[int(d) for d in dims], *[float(s) for s in scalars])


class PythonArtifact(Artifact):
    """A Python module whose `kernel(*inputs, *outputs, *dims, *scalars)` writes the outputs (Triton launchers)."""

    language = "python"

    def __init__(self, path: str):
        if not os.path.isfile(path):
            raise ArtifactError(f"kernel not found: {path}")
        self.path = os.path.abspath(path)
        name = "kernelevolve_swap_" + hashlib.sha256(self.path.encode()).hexdigest()[:12]
        spec = importlib.util.spec_from_file_location(name, self.path)
        if spec is None or spec.loader is None:
            raise ArtifactError(f"{path}: not a Python module")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as error:  # a broken candidate: report it as an artifact error
            raise ArtifactError(f"{path}: import failed: {error}") from error
        self.function: Callable = getattr(module, "kernel", None)
        if not callable(self.function):
            raise ArtifactError(f"{path}: defines no `kernel` launcher")

    def call(self, inputs, outputs, dims, scalars) -> None:
        self.function(*inputs, *outputs, *[int(d) for d in dims], *[float(s) for s in scalars])


def load_artifact(path: str) -> Artifact:
    """A C++ source (.cpp/.cc), a shared library (.so) or a Python module (.py)."""
    if path.endswith((".cpp", ".cc", ".cxx", ".so")):
        return CppArtifact(path)
    if path.endswith(".py"):
        return PythonArtifact(path)
    raise ArtifactError(f"{path}: expected a .cpp/.so (cpu platform) or a .py (Triton) kernel")
