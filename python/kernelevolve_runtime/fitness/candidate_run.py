"""One confined process running a candidate (native harness or Python worker) or the reference: commands, freezing, deaths.

The runtime owns the clock: a timed exchange is perf_counter_ns around thaw, command and answer, and the process is
frozen (SIGSTOP, every task confirmed stopped) whenever no exchange is under way, so it runs only while it is timed
or asked to do untimed set-up, and never while the runtime reads its buffers or times another process.
"""
import os
import shutil
import signal
import time

from ..sandbox.sandbox import OPENMP_ENVIRONMENT, WorkerDied, WorkerProtocolError, WorkerTimeout
from .shared_arena import Arena

# Reasons a worker may report for itself; anything else it claims becomes runtime_error.
WORKER_REASONS = {"runtime_error", "memory_limit", "missing_entry", "wrong_dtype", "wrong_shape", "wrong_device", "output_alias", "forbidden_call",
                  "unsupported_platform"}
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


# How long a SIGSTOPped process may take until every one of its tasks shows as stopped.
FREEZE_TIMEOUT_SECONDS = 2.0


def task_states(pid):
    """{tid: state letter} of every task of a process (empty when it is gone)."""
    states = {}
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return states
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/stat", "rb") as handle:
                states[task] = handle.read().rsplit(b")", 1)[1].split()[0].decode()
        except (OSError, IndexError):
            continue
    return states


class CandidateRun:
    """Spawns one confined process, forwards commands each under its own wall-time limit, and turns every death into a CandidateFailure.

    `timeLimitSeconds` bounds every single step (start-up, one trial call, one block); `total_limit` caps the whole
    process. `harness` (a path) runs a cpp candidate in the native harness; otherwise a Python worker runs the
    candidate module or, with `role="reference"` and no artifact, only the spec's reference. The shared buffers
    (`arena`, `arena_bytes` long) are created here, in the process's private folder.
    """

    def __init__(self, sandbox, platform, spec, options, language=None, artifact=None, total_limit=None, arena_bytes=1 << 20,
                 role="candidate", harness=None, strict_filter=None):
        self.sandbox = sandbox
        self.threads = int(options.get("threads") or default_threads())
        self.time_limit = float(options["timeLimitSeconds"])
        self.total_limit = max(self.time_limit, float(total_limit or self.time_limit))
        self.directory = sandbox.make_directory()
        self.process = None
        self.arena = None
        self.pid = None
        self.frozen = False
        self.deadline = None
        self.step_deadline = None
        self.step_limit = self.time_limit
        try:
            self.arena = Arena(self.directory, arena_bytes)
            sandbox.hand_over(self.arena.path, self.directory)
            artifact_name = None
            if artifact:
                artifact_name = platform.artifact_names.get(language, os.path.basename(artifact))
                self._place(artifact, artifact_name)
            memory_bytes = int(options["memoryLimitMb"]) << 20
            limits = {
                "fileBytes": max(memory_bytes, 1 << 30, self.arena.capacity),
                "openFiles": 1024,
                "cpuSeconds": int(self.total_limit * self.threads) + 10,
                "processes": sandbox.process_limit(self.threads),
                # The shared buffers are mapped on top of what the candidate may allocate.
                "addressSpaceBytes": memory_bytes + self.arena.capacity if platform.uses_address_space_limit else None,
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
            if harness:
                self._place(harness, "harness", mode=0o755)
                filter_name = "-"
                if strict_filter:
                    filter_name = "filter.bpf"
                    self._write(filter_name, strict_filter)
                argv = [os.path.join(self.directory, "harness"), "{command}", "{response}", self.arena.name, str(self.arena.capacity),
                        str(self.threads), filter_name, os.path.join(self.directory, artifact_name)]
                self.process = sandbox.spawn("harness", self.directory, limits, environment, argv=argv, pid_namespace=not platform.accelerator)
            else:
                self.process = sandbox.spawn("worker", self.directory, limits, environment, pid_namespace=not platform.accelerator)
                self.process.send({"spec": spec, "platform": platform.id, "language": language, "artifact": artifact_name, "threads": self.threads,
                                   "arena": self.arena.name, "arenaBytes": self.arena.capacity, "role": role})
            # The clock starts once the process exists (the first spawn also starts the zygote).
            self.deadline = time.monotonic() + self.total_limit
            self._start_step(self.time_limit)
            self.pid = self.process.child_pid
            self._expect_ok(self._receive())
            self.freeze()
        except BaseException:
            self.close()
            raise

    def _place(self, source, name, mode=0o644):
        destination = os.path.join(self.directory, name)
        shutil.copyfile(source, destination)
        os.chmod(destination, mode)
        self.sandbox.hand_over(destination, self.directory)

    def _write(self, name, data):
        destination = os.path.join(self.directory, name)
        with open(destination, "wb") as handle:
            handle.write(data)
        os.chmod(destination, 0o444)

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

    def freeze(self):
        """SIGSTOPs the process and waits until every task of it is stopped: from here on it runs nothing."""
        try:
            os.kill(self.pid, signal.SIGSTOP)
        except ProcessLookupError as error:
            raise self._death() from error
        deadline = time.monotonic() + FREEZE_TIMEOUT_SECONDS
        while True:
            states = task_states(self.pid)
            if not states:
                raise self._death()
            if all(state in "TtZX" for state in states.values()):
                self.frozen = True
                if self.process.pending_bytes():
                    self.process.kill()
                    raise CandidateFailure("forged_answer", "the candidate's process wrote to the runtime's answer channel "
                                                            "(more answers than commands)", self.process.log_tail())
                return
            if time.monotonic() > deadline:
                self.process.kill()
                raise CandidateFailure("crash", "the candidate's process could not be frozen", self.process.log_tail())
            time.sleep(0.00002)

    def thaw(self):
        """SIGCONTs the frozen process."""
        if self.frozen:
            self.frozen = False
            try:
                os.kill(self.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass

    def alive(self):
        """True while the process exists and was not killed."""
        return self.process is not None and not self.process.killed and bool(task_states(self.pid))

    def renew(self, total_limit):
        """Gives a kept process a fresh total time budget for its next evaluation; False if it is gone."""
        if not self.alive():
            return False
        self.total_limit = max(self.time_limit, float(total_limit))
        self.deadline = time.monotonic() + self.total_limit
        return True

    def thread_count(self):
        """How many tasks (threads) the process has (read while it is frozen)."""
        return len(task_states(self.pid))

    def _check_budget(self):
        if self._remaining() <= 0:
            self.process.kill()
            raise CandidateFailure("timeout", f"the candidate's evaluation ran longer than its total {self.total_limit:g} s cap",
                                   self.process.log_tail())

    def send(self, line, limit=None):
        """Starts one untimed step: thaws the process and writes a command line; pair with finish()."""
        self._check_budget()
        self._start_step(limit or self.time_limit)
        self._step_started = time.perf_counter()
        self.thaw()
        self.process.send_text(line)

    def finish(self):
        """The answer to the step send() started (the process is frozen again before this returns).

        Time the runtime spent on its own work between send() and finish() does not count against the step.
        """
        busy = time.perf_counter() - self._step_started
        self.step_deadline = min(self.deadline, self.step_deadline + busy)
        answer = self._receive()
        self.freeze()
        return self._expect_ok(answer)

    def command(self, line, limit=None):
        """One untimed command; the successful answer."""
        self.send(line, limit)
        return self.finish()

    def timed(self, line, limit=None):
        """One timed command: nanoseconds from just before the thaw to the answer, taken by the runtime's own clock.

        Nothing the process says about time is used; it is frozen again before this returns.
        """
        self._check_budget()
        self._start_step(limit or self.time_limit)
        started = time.perf_counter_ns()
        self.frozen = False
        try:
            os.kill(self.pid, signal.SIGCONT)
        except ProcessLookupError as error:
            raise self._death() from error
        self.process.send_text(line)
        answer = self._receive()
        elapsed = time.perf_counter_ns() - started
        self.freeze()
        self._expect_ok(answer)
        return elapsed

    def close(self):
        """Asks the process to exit, then kills whatever is left, closes the buffers and removes the private folder."""
        if self.process is not None:
            try:
                if self._remaining() > 0 and not self.process.killed:
                    self.thaw()
                    self.process.send_text("Q")
                    self.process.receive(min(1.0, max(0.0, self._remaining())))
            except (WorkerDied, WorkerTimeout, WorkerProtocolError, OSError):
                pass
            self.process.close()
            self.process = None
        if self.arena is not None:
            self.arena.close()
        self.sandbox.release_directory(self.directory)
