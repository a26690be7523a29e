"""The plug-in shape of a platform inside the runtime: compile in the runtime; load, place and synchronize in the worker."""
import hashlib
import os
import time

import torch



class MissingEntry(Exception):
    """The candidate loads but lacks its entry point (`kernel` symbol, `ModelNew` class)."""


class CandidateViolation(Exception):
    """A check inside the worker caught the candidate (e.g. torch compute in a launcher, hidden work); carries a failure reason."""

    def __init__(self, reason, message):
        super().__init__(message)
        self.reason = reason


class CompileResult:
    """What compile() produced: an artifact file, or the reason and log of a failure."""

    def __init__(self, artifact=None, cached=False, seconds=0.0, command=None, compiler=None, reason=None, message="", log=""):
        self.artifact = artifact
        self.cached = cached
        self.seconds = seconds
        self.command = command
        self.compiler = compiler
        self.reason = reason
        self.message = message
        self.log = log

    def summary(self):
        """The `compile` field of an EvaluationResult."""
        summary = {"cached": self.cached, "seconds": round(self.seconds, 4)}
        if self.command:
            summary["command"] = self.command
        if self.compiler:
            summary["compiler"] = self.compiler
        return summary


class Platform:
    """Base of runtime platforms; subclasses fill in compile (runtime side) and the worker-side hooks."""

    id = ""
    languages = ()
    # Outputs must live on this torch device type.
    device_type = "cpu"
    default_capacity = 1
    # RLIMIT_AS breaks drivers that reserve large address ranges (CUDA); such platforms set this False.
    uses_address_space_limit = True
    # Runs kernels on a device whose driver needs the host pid namespace (sandbox.spawn).
    accelerator = False
    artifact_names = {"python": "candidate.py"}

    def __init__(self, cache_dir=None):
        self.cache_dir = cache_dir

    def availability(self):
        """(available, reason) on this machine."""
        return True, None

    def compile(self, candidate, options, sandbox):
        """Turns a candidate's source into an artifact file; Python sources need no compile."""
        if candidate["language"] == "python":
            return self._source_artifact(candidate["source"], "candidate.py")
        return CompileResult(reason="unsupported_platform", message=f"platform {self.id} cannot compile {candidate['language']}")

    def _source_artifact(self, source, name):
        started = time.perf_counter()
        digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
        folder = os.path.join(self.cache_dir, "source", digest)
        path = os.path.join(folder, name)
        cached = os.path.exists(path)
        if not cached:
            os.makedirs(folder, exist_ok=True)
            temporary = f"{path}.{os.getpid()}.{time.monotonic_ns()}.tmp"
            with open(temporary, "w", encoding="utf-8") as handle:
                handle.write(source)
            os.replace(temporary, path)
        return CompileResult(artifact=path, cached=cached, seconds=time.perf_counter() - started)

    def timing_skipped(self):
        """Why timings would be meaningless here (e.g. an interpreter), or None when they are taken."""
        return None

    def roofline_verdict(self, spec, size, entry):
        """None, or {"flag": ..., "fatal": message or None} when a SizeTiming beats what the hardware can do."""
        return None

    def worker_environment(self, directory):
        """Extra environment variables for the confined worker (on top of the sandbox's allowlist)."""
        return {}

    def hardware_profile(self):
        """Hardware facts for prompts (a HardwareProfile dict)."""
        return {"platform": self.id, "device": self.id, "notes": []}

    # Worker side: the methods below run inside the confined process.

    def worker_setup(self, threads):
        """Prepares the process before the candidate is loaded (thread counts, devices)."""
        torch.set_num_threads(threads)

    def load(self, artifact_path, language, spec):
        """Loads an artifact into a kernel object with bind(inputs, dimensions, scalars, output_specs, outputs)."""
        if language == "python":
            from .python_module import load_model_module

            return load_model_module(artifact_path, spec, self.place)
        raise MissingEntry(f"platform {self.id} cannot load {language}")

    def place(self, tensor):
        """Moves a generated (CPU) tensor to where the kernel reads it."""
        return tensor
