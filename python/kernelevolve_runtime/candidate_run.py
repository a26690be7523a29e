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


def total_time_limit(options, size_count):
    """The cap on one worker's whole life: a full step limit for start-up and for each size's correctness, timing and re-verification."""
    return float(options["timeLimitSeconds"]) * (1 + 3 * max(1, int(size_count)))


class CandidateRun:
    """Spawns the worker, forwards commands each under its own wall-time limit, and turns every death into a CandidateFailure.

    `timeLimitSeconds` bounds every single step (start-up, one trial call, one timing loop); `total_limit`
    (default: the same) caps the whole worker, so the cap grows with the work the caller plans while a hang
    is still killed one step limit after it starts.
    """

    def __init__(self, sandbox, platform, spec, options, language=None, artifact=None, total_limit=None):
        self.sandbox = sandbox
        self.threads = int(options.get("threads") or default_threads())
        self.time_limit = float(options["timeLimitSeconds"])
        self.total_limit = max(self.time_limit, float(total_limit or self.time_limit))
        self.directory = sandbox.make_directory()
        self.process = None
        self.deadline = None
        self.step_deadline = None
        self.step_limit = self.time_limit
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
                "cpuSeconds": int(self.total_limit * self.threads) + 10,
                "processes": sandbox.process_limit(self.threads),
                "addressSpaceBytes": memory_bytes if platform.uses_address_space_limit else None,
            }
            environment = {
                "PATH": "/usr/local/bin:/usr/bin:/bin",
                "HOME": self.directory,
                "TMPDIR": self.directory,
                "LANG": "C.UTF-8",
                # The confined user has no passwd entry; libraries that ask for a user name (Triton's
                # cache, getpass) read these instead of failing in getpwuid.
                "USER": "kernelevolve",
                "LOGNAME": "kernelevolve",
                "OMP_NUM_THREADS": str(self.threads),
                # Also for an OpenMP runtime the candidate loads itself (the zygote's torch copy is set already).
                **OPENMP_ENVIRONMENT,
            }
            environment.update(platform.worker_environment(self.directory))
            self.process = sandbox.spawn("worker", self.directory, limits, environment, pid_namespace=not platform.accelerator)
            self.deadline = time.monotonic() + self.total_limit
            self._start_step(self.time_limit)
            self.process.send({"spec": spec, "platform": platform.id, "language": language, "artifact": artifact_name, "threads": self.threads})
            self._expect_ok(self._receive())
        except BaseException:
            self.close()
            raise

    def _remaining(self):
        return self.deadline - time.monotonic()

    def _start_step(self, limit):
        self.step_limit = float(limit)
        self.step_deadline = min(self.deadline, time.monotonic() + self.step_limit)

    def _timeout_message(self):
        if self.step_deadline >= self.deadline and self.total_limit > self.step_limit:
            return f"the candidate's evaluation ran longer than its total {self.total_limit:g} s cap"
        return f"the candidate ran longer than its {self.step_limit:g} s limit for one step"

    def _receive(self):
        try:
            return self.process.receive(max(0.0, self.step_deadline - time.monotonic()))
        except WorkerTimeout as error:
            self.process.kill()
            raise CandidateFailure("timeout", self._timeout_message(), self.process.log_tail()) from error
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

    def send(self, command, limit=None):
        """Starts one step (its own limit: `limit` or timeLimitSeconds, within the total cap); pair with finish()."""
        if self._remaining() <= 0:
            self.process.kill()
            raise CandidateFailure("timeout", f"the candidate's evaluation ran longer than its total {self.total_limit:g} s cap",
                                   self.process.log_tail())
        self._start_step(limit or self.time_limit)
        self._step_started = time.perf_counter()
        self.process.send(command)

    def finish(self):
        """The worker's successful answer to the step send() started, plus the step's wall time (ms).

        Time the runtime spent on its own work between send() and finish() (the reference, while the worker
        runs the trial) does not count against the step.
        """
        busy = time.perf_counter() - self._step_started
        self.step_deadline = min(self.deadline, self.step_deadline + busy)
        answer = self._receive()
        wall_ms = (time.perf_counter() - self._step_started) * 1000
        return self._expect_ok(answer), wall_ms

    def request(self, command, limit=None):
        """Sends one command and returns the worker's successful answer plus the wall time it took (ms)."""
        self.send(command, limit)
        return self.finish()

    def request_raw(self, command, limit=None):
        """Like request, but returns a failed answer instead of raising (for optional work such as torch.compile)."""
        self.send(command, limit)
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
