"""Builds a shared library from one candidate source with a confined compiler (g++ for cpu, nvcc for cuda)."""
import os
import shutil
import stat
import time

from ..symbol_policy import describe
from .base import CompileResult

LOG_LIMIT = 4096


def copy_out(source, destination):
    """Copies a file the confined user wrote into the cache, refusing links and special files."""
    descriptor = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(descriptor, "rb") as reader:
        if not stat.S_ISREG(os.fstat(reader.fileno()).st_mode):
            raise OSError(f"{source} is not a regular file")
        temporary = f"{destination}.{os.getpid()}.{time.monotonic_ns()}.tmp"
        with open(temporary, "wb") as writer:
            shutil.copyfileobj(reader, writer)
    os.replace(temporary, destination)


def truncate_log(text, directory, limit=LOG_LIMIT):
    """The first `limit` characters of a compiler log (the first errors), without the private folder's path."""
    text = text.replace(directory + "/", "").replace(directory, ".")
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text) - limit} more characters)"


def build_shared_library(sandbox, options, *, source, source_name, argv, limits, path, artifact, command, version, tool,
                         inspect=None):
    """Writes `source` into a private folder, runs `argv` there confined and bounded in time, and caches kernel.so at `artifact`.

    `inspect(directory)` runs on the trusted side after a successful build and before anything is cached: findings
    (symbol_policy) reject the build with reason forbidden_call."""
    started = time.perf_counter()
    directory = sandbox.make_directory()
    try:
        source_path = os.path.join(directory, source_name)
        with open(source_path, "w", encoding="utf-8") as handle:
            handle.write(source)
        sandbox.hand_over(source_path, directory)
        environment = {"PATH": path, "HOME": directory, "TMPDIR": directory, "LANG": "C"}
        time_limit = options["compileTimeLimitSeconds"]
        status, log, timed_out = sandbox.run_command(argv, directory, limits, environment, time_limit)
        seconds = time.perf_counter() - started
        log = truncate_log(log, directory)
        if timed_out:
            return CompileResult(reason="compile_timeout", seconds=seconds, command=command, compiler=version, log=log,
                                 message=f"{tool} ran longer than {time_limit:g} s")
        built = os.path.join(directory, "kernel.so")
        if not status or status.get("exitCode") != 0 or not os.path.exists(built):
            first = next((line for line in log.splitlines() if "error" in line), f"{tool} failed")
            return CompileResult(reason="compile_error", seconds=seconds, command=command, compiler=version, log=log,
                                 message=first.strip()[:300])
        if inspect is not None:
            findings = inspect(directory)
            if findings:
                return CompileResult(reason="forbidden_call", seconds=time.perf_counter() - started, command=command,
                                     compiler=version, log=log, message=describe(findings))
        os.makedirs(os.path.dirname(artifact), exist_ok=True)
        copy_out(built, artifact)
        return CompileResult(artifact=artifact, cached=False, seconds=seconds, command=command, compiler=version, log=log)
    finally:
        sandbox.release_directory(directory)
