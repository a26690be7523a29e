"""Builds a shared library from one candidate source with a confined compiler (g++ for cpu, nvcc for cuda)."""
import os
import re
import shutil
import stat
import time

from ..sandbox.sandbox import describe_end
from ..sandbox.symbol_policy import describe
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


# Files whose text a compile log may quote: the candidate's source and the system's and toolchains' headers.
SYSTEM_HEADER_PREFIXES = ("/usr/include/", "/usr/lib/gcc/", "/usr/local/include/", "/usr/local/cuda", "/usr/lib/llvm",
                          "/usr/lib/x86_64-linux-gnu/", "/usr/lib/aarch64-linux-gnu/", "/opt/cuda", "/opt/nvidia")
_LOCATION = re.compile(r"^(?:In file included from |\s+from )?(?P<path>[^\s:(]+)(?::\d+|\(\d+\))")
_EXCERPT = re.compile(r"^\s+(?:\d+\s*)?\|")
_ABSOLUTE_PATH = re.compile(r"(?<![\w.])(/(?:[\w.+-]+/)*[\w.+-]+)")


def _may_quote(path, source_names, header_prefixes):
    path = path.lstrip("./") if path.startswith("./") else path
    return path in source_names or os.path.abspath(path).startswith(header_prefixes) and ".." not in path


def scrub_log(text, source_names=("kernel.cpp", "kernel.cu"), header_prefixes=SYSTEM_HEADER_PREFIXES, tool_paths=()):
    """The compile log without text of host files: a diagnostic located in any file but the candidate's source and the
    system headers is replaced by a notice and its quoted lines are dropped; other absolute paths are masked. The log
    is the candidate's only output channel from a compile."""
    kept, quoting_host = [], False
    allowed = tuple(header_prefixes) + tuple(tool_paths)
    for line in text.splitlines():
        located = _LOCATION.match(line)
        if located and ("/" in located.group("path") or located.group("path") in source_names):
            quoting_host = not _may_quote(located.group("path"), source_names, allowed)
            if quoting_host:
                kept.append("<a diagnostic in a file outside the candidate's source and the system headers, withheld>")
                continue
        elif quoting_host and (_EXCERPT.match(line) or line.startswith((" ", "\t"))):
            continue
        else:
            quoting_host = False
        kept.append(_ABSOLUTE_PATH.sub(lambda match: match.group(1) if match.group(1).startswith(allowed) else "<path>", line))
    return "\n".join(kept) + ("\n" if text.endswith("\n") else "")


def truncate_log(text, directory, limit=LOG_LIMIT, tool_paths=()):
    """The first `limit` characters of a compiler log (the first errors), without the private folder's path and
    without host files' text (scrub_log)."""
    text = text.replace(directory + "/", "").replace(directory, ".")
    text = scrub_log(text, tool_paths=tool_paths)
    return text if len(text) <= limit else text[:limit] + f"\n... ({len(text) - limit} more characters)"


def toolchain_root(program):
    """The installation folder of a compiler (e.g. /usr/local/cuda-13.0 for its bin/nvcc), kept in the compile's view."""
    return os.path.dirname(os.path.dirname(os.path.realpath(program)))


def build_shared_library(sandbox, options, *, source, source_name, argv, limits, path, artifact, command, version, tool,
                         inspect=None, toolchain=()):
    """Writes `source` into a private folder, runs `argv` there confined and bounded in time, and caches kernel.so at `artifact`.

    `inspect(directory)` runs on the trusted side after a successful build and before anything is cached: findings
    (symbol_policy) reject the build with reason forbidden_call. The compiler sees only the system's folders, the
    private folder and `toolchain` (mounts.minimal_view): a host file cannot be included, and the log is scrubbed."""
    started = time.perf_counter()
    directory = sandbox.make_directory()
    try:
        source_path = os.path.join(directory, source_name)
        with open(source_path, "w", encoding="utf-8") as handle:
            handle.write(source)
        sandbox.hand_over(source_path, directory)
        environment = {"PATH": path, "HOME": directory, "TMPDIR": directory, "LANG": "C"}
        time_limit = options["compileTimeLimitSeconds"]
        view = sorted({toolchain_root(argv[0]), *toolchain} - {"/", "/usr"})
        status, log, timed_out = sandbox.run_command(argv, directory, limits, environment, time_limit, minimal_view=view)
        seconds = time.perf_counter() - started
        log = truncate_log(log, directory, tool_paths=tuple(view))
        if timed_out:
            stopped = bool(status and status.get("stopped"))
            return CompileResult(reason="compile_timeout", seconds=seconds, command=command, compiler=version, log=log,
                                 message=describe_end(status, log, stopped=True)[1] if stopped else f"{tool} ran longer than {time_limit:g} s")
        built = os.path.join(directory, "kernel.so")
        if not status or status.get("exitCode") != 0 or not os.path.exists(built):
            first = next((line for line in log.splitlines() if "error" in line), None)
            if first is None:
                first = f"{tool} failed: {describe_end(status, log)[1]}"
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
