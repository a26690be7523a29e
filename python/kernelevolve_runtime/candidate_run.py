"""One confined worker for one candidate (or a reference-only timing run), with the wall-time budget and death classification."""
import os
import shutil
import signal
import time

from .sandbox import OPENMP_ENVIRONMENT, WorkerDied, WorkerProtocolError, WorkerTimeout

# Reasons a worker may report for itself; anything else it claims becomes runtime_error.
WORKER_REASONS = {"runtime_error", "memory_limit", "missing_entry", "wrong_dtype", "forbidden_call", "suspicious_timing", "unsupported_platform"}
MEMORY_MARKERS = ("bad_alloc", "MemoryError", "Cannot allocate memory", "out of memory", "std::length_error")


class CandidateFailure(Exception):
    """The candidate failed in its worker: a stable reason, a one-line message and a log."""

    def __init__(self, reason, message, log=""):
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.log = log


def default_threads():
    """Every core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class CandidateRun:
    """Spawns the worker, forwards commands with the remaining wall time, and turns every death into a CandidateFailure."""

    def __init__(self, sandbox, platform, spec, options, language=None, artifact=None):
        self.sandbox = sandbox
        self.threads = int(options.get("threads") or default_threads())
        self.time_limit = float(options["timeLimitSeconds"])
        self.directory = sandbox.make_directory()
        self.process = None
        self.deadline = None
        try:
            artifact_name = None
            if artifact:
                artifact_name = platform.artifact_names.get(language, os.path.basename(artifact))
                destination = os.path.join(self.directory, artifact_name)
                shutil.copyfile(artifact, destination)
                sandbox.hand_over(destination, self.directory)
            memory_bytes = int(options["memoryLimitMb"]) << 20
            limits = {
                "fileBytes": max(memory_bytes, 1 << 30),
                "openFiles": 1024,
                "cpuSeconds": int(self.time_limit * self.threads) + 10,
                "processes": sandbox.process_limit(self.threads),
                "addressSpaceBytes": memory_bytes if platform.uses_address_space_limit else None,
            }
            environment = {
                "PATH": "/usr/local/bin:/usr/bin:/bin",
                "HOME": self.directory,
                "TMPDIR": self.directory,
                "LANG": "C.UTF-8",
                "OMP_NUM_THREADS": str(self.threads),
                # Also for an OpenMP runtime the candidate loads itself (the zygote's torch copy is set already).
                **OPENMP_ENVIRONMENT,
            }
            environment.update(platform.worker_environment(self.directory))
            self.process = sandbox.spawn("worker", self.directory, limits, environment)
            self.deadline = time.monotonic() + self.time_limit
            self.process.send({"spec": spec, "platform": platform.id, "language": language, "artifact": artifact_name, "threads": self.threads})
            self._expect_ok(self._receive())
        except BaseException:
            self.close()
            raise

    def _remaining(self):
        return self.deadline - time.monotonic()

    def _receive(self):
        try:
            return self.process.receive(max(0.0, self._remaining()))
        except WorkerTimeout as error:
            self.process.kill()
            raise CandidateFailure("timeout", f"the candidate ran longer than its {self.time_limit:g} s limit", self.process.log_tail()) from error
        except WorkerDied as error:
            raise self._death() from error
        except WorkerProtocolError as error:
            self.process.kill()
            raise CandidateFailure("crash", f"the worker's channel was corrupted: {error}", self.process.log_tail()) from error

    def _death(self):
        status = self.process.exit_status(timeout=2.0) or {}
        self.process.kill()
        log = self.process.log_tail()
        if any(marker in log for marker in MEMORY_MARKERS):
            return CandidateFailure("memory_limit", "the candidate ran out of memory (address-space limit)", log)
        number = status.get("signal")
        if number == signal.SIGXCPU:
            return CandidateFailure("timeout", "the candidate used up its CPU-time limit", log)
        if number is not None:
            name = signal.Signals(number).name if number in signal.Signals._value2member_map_ else str(number)
            return CandidateFailure("crash", f"the candidate's process was killed by {name}", log)
        code = status.get("exitCode")
        return CandidateFailure("crash", f"the candidate's process exited (code {code}) before answering", log)

    def _expect_ok(self, answer):
        if answer.get("ok") is True:
            return answer
        reason = answer.get("reason") if answer.get("reason") in WORKER_REASONS else "runtime_error"
        message = str(answer.get("message") or "the worker reported a failure")[:500]
        raise CandidateFailure(reason, message, str(answer.get("log") or self.process.log_tail())[-4000:])

    def request(self, command):
        """Sends one command and returns the worker's successful answer plus the wall time it took (ms)."""
        if self._remaining() <= 0:
            self.process.kill()
            raise CandidateFailure("timeout", f"the candidate ran longer than its {self.time_limit:g} s limit", self.process.log_tail())
        started = time.perf_counter()
        self.process.send(command)
        answer = self._receive()
        wall_ms = (time.perf_counter() - started) * 1000
        return self._expect_ok(answer), wall_ms

    def request_raw(self, command):
        """Like request, but returns a failed answer instead of raising (for optional work such as torch.compile)."""
        self.process.send(command)
        return self._receive()

    def close(self):
        """Asks the worker to exit, then kills whatever is left and removes the private folder."""
        if self.process is not None:
            try:
                if self._remaining() > 0 and not self.process.killed:
                    self.process.send({"op": "exit"})
                    self.process.receive(min(1.0, max(0.0, self._remaining())))
            except (WorkerDied, WorkerTimeout, WorkerProtocolError):
                pass
            self.process.close()
            self.process = None
        self.sandbox.release_directory(self.directory)
