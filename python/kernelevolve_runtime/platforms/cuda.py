"""The `cuda` platform: CUDA C++ kernels with the C ABI of docs/abi-cuda.md, built by a confined nvcc, called through ctypes on device pointers."""
import ctypes
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import time

from ..sandbox import symbol_policy
from ..gpu.device import GpuPlatform
from ..gpu.hardware import cuda_arch_flag, device_properties
from ..gpu.launch_guard import GuardedKernel, LaunchGuard
from .base import CandidateViolation, CompileResult, MissingEntry
from .cpu import NativeKernel
from .native_build import build_shared_library

BASE_FLAGS = ["-std=c++17", "-O3", "--shared", "-Xcompiler", "-fPIC", "-Xcompiler", "-O2"]
# Built for the GPU host's H200 where this host has no GPU to ask.
DEFAULT_ARCH = (9, 0)
NVCC_CANDIDATES = ("/usr/local/cuda/bin/nvcc",)

_nvcc_versions = {}


def find_nvcc():
    """nvcc from CUDA_HOME, PATH or /usr/local/cuda; None when absent."""
    home = os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")
    options = [os.path.join(home, "bin", "nvcc")] if home else []
    options += [shutil.which("nvcc") or "", *NVCC_CANDIDATES]
    return next((path for path in options if path and os.path.isfile(path)), None)


def nvcc_version(nvcc):
    """The 'release' line of `nvcc --version` (part of the cache key), cached per process."""
    if nvcc not in _nvcc_versions:
        output = subprocess.run([nvcc, "--version"], capture_output=True, text=True, timeout=60).stdout
        lines = [line for line in output.splitlines() if "release" in line] or output.splitlines()[-1:] or [nvcc]
        _nvcc_versions[nvcc] = lines[0].strip()
    return _nvcc_versions[nvcc]


class CudaPlatform(GpuPlatform):
    """CUDA C++ (and KernelBench Python) candidates on CUDA device 0; without a GPU, CUDA sources are compile-checked only."""

    id = "cuda"
    languages = ("cuda", "python")
    default_capacity = 1
    artifact_names = {"cuda": "kernel.so", "python": "candidate.py"}

    def __init__(self, cache_dir=None):
        super().__init__(cache_dir)
        self.nvcc = find_nvcc()

    def availability(self):
        """Available where nvcc exists (compile checks); correctness and timing also need a CUDA device."""
        if self.nvcc is None:
            return False, "no nvcc (set CUDA_HOME or put nvcc on PATH)"
        if not self.has_gpu:
            return True, "no CUDA device: candidates are compile-checked only"
        return True, None

    def arch(self):
        """The (major, minor) compute capability to build for: device 0's, else sm_90 (the H200 of the GPU host)."""
        if self.has_gpu:
            properties = device_properties()
            return properties["major"], properties["minor"]
        digits = re.sub(r"\D", "", os.environ.get("KERNELEVOLVE_CUDA_ARCH", ""))
        if len(digits) >= 2:
            return int(digits[:-1]), int(digits[-1])
        return DEFAULT_ARCH

    def flags(self, candidate):
        """nvcc flags: base, the architecture's code generation, then the candidate's own."""
        return [*BASE_FLAGS, cuda_arch_flag(*self.arch()), *list(candidate.get("compileFlags") or [])]

    def compiler_version(self):
        """nvcc's release line."""
        return nvcc_version(self.nvcc) if self.nvcc else None

    def gpu_notes(self):
        """How kernels are built and launched here."""
        major, minor = self.arch()
        return [f"nvcc builds for sm_{major}{minor}{'a' if (major, minor) == (9, 0) else ''}; kernels launch on the default stream"]

    def compile(self, candidate, options, sandbox):
        """Compiles a cuda candidate into a cached .so with a confined nvcc, bounded in time."""
        if candidate["language"] != "cuda":
            return super().compile(candidate, options, sandbox)
        if self.nvcc is None:
            return CompileResult(reason="unsupported_platform", message="no nvcc on this host")
        # options.staticChecks.symbol_policy = "off" (tests of the layers beneath it) skips the import allowlist; such
        # builds are cached apart, so an unchecked library never answers a checked compile.
        checked = (options.get("staticChecks") or {}).get("symbol_policy", "strict") != "off"
        flag_findings = symbol_policy.check_flags(candidate.get("compileFlags")) if checked else []
        if flag_findings:
            return CompileResult(reason="forbidden_call", message=symbol_policy.describe(flag_findings))
        flags = self.flags(candidate)
        version = nvcc_version(self.nvcc)
        key = hashlib.sha256("\0".join([candidate["source"], version, " ".join(flags)]).encode("utf-8")).hexdigest()
        folder = os.path.join(self.cache_dir, "cuda", key if checked else key + "-unchecked")
        artifact = os.path.join(folder, "kernel.so")
        command = " ".join(["nvcc", *flags, "-o", "kernel.so", "kernel.cu"])
        if os.path.exists(artifact):
            return CompileResult(artifact=artifact, cached=True, seconds=0.0, command=command, compiler=version)
        limits = {
            "fileBytes": 1 << 30,
            "openFiles": 512,
            "cpuSeconds": int(options["compileTimeLimitSeconds"]) * 2 + 5,
            # nvcc runs cudafe++, cicc, ptxas, fatbinary and the host compiler as children.
            "processes": sandbox.process_limit(16),
            "addressSpaceBytes": max(options["memoryLimitMb"], 8192) << 20,
        }
        # Two steps, so the candidate's own object file can be checked apart from CUDA's static runtime, which the link
        # adds and which imports what kernels may not (dlopen, threads, files): symbol_policy.check_cuda_build.
        script = " ".join(["\"$0\"", *map(shlex.quote, flags), "-c", "-o", "kernel.o", "kernel.cu", "&&",
                           "\"$0\"", *map(shlex.quote, flags), "-o", "kernel.so", "kernel.o"])
        return build_shared_library(
            sandbox, options, source=candidate["source"], source_name="kernel.cu",
            argv=["/bin/sh", "-c", script, self.nvcc], limits=limits,
            path=os.pathsep.join([os.path.dirname(self.nvcc), os.environ.get("PATH", "/usr/bin:/bin")]),
            artifact=artifact, command=command, version=version, tool="nvcc",
            inspect=(lambda directory: symbol_policy.check_cuda_build(os.path.join(directory, "kernel.o"),
                                                                     os.path.join(directory, "kernel.so"))) if checked else None,
        )

    def load(self, artifact_path, language, spec):
        """Opens the library and types `kernel` per the ABI; KernelBench modules run under the launch guard."""
        if not self.has_gpu:
            raise CandidateViolation("unsupported_platform", "the candidate compiled, but this host has no CUDA device to check or time it on "
                                                             "(run the same evaluation on the GPU host)")
        if language == "python":
            return GuardedKernel(super().load(artifact_path, language, spec), LaunchGuard(), require_launch=False)
        if language != "cuda":
            raise MissingEntry(f"platform cuda cannot load {language}")
        library = ctypes.CDLL(os.path.abspath(artifact_path), mode=os.RTLD_NOW | os.RTLD_LOCAL)
        try:
            function = library.kernel
        except AttributeError as error:
            raise MissingEntry('the library exports no function `kernel` (declare it extern "C")') from error
        pointer_count = len(spec["inputs"]) + len(spec["outputs"])
        function.argtypes = (
            [ctypes.c_void_p] * pointer_count + [ctypes.c_int64] * len(spec["dimensions"]) + [ctypes.c_double] * len(spec["scalars"])
        )
        function.restype = None
        return NativeKernel(function)
