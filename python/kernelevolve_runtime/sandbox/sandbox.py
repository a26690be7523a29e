"""The runtime's side of the sandbox: starts the zygote, spawns confined processes, enforces wall time and kills them whole."""
import array
import fcntl
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import termios
import threading
import time

PYTHON_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAX_MESSAGE_BYTES = 4 << 20


class WorkerTimeout(Exception):
    """The confined process did not answer before its deadline."""


class WorkerDied(Exception):
    """The confined process ended (crash, limit, exit) before answering."""


class WorkerProtocolError(Exception):
    """The confined process answered something that is not one JSON object per line."""


# Confined children get a user id of their own from a range no account uses: RLIMIT_NPROC then counts
# only that child's processes, and concurrent children cannot signal or trace each other.
IDENTITY_BASE = 1_900_000_000

# OpenMP settings of every confined process (set in the zygote, whose torch import initialises libgomp).
OPENMP_ENVIRONMENT = {"OMP_WAIT_POLICY": "PASSIVE"}
IDENTITIES_PER_RUNTIME = 100


def _process_count(uid):
    count = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{name}/task"))
            except OSError:
                continue
    return count


def _alive(pid):
    # A zombie has finished: its parent (the zygote, which ignores SIGCHLD) reaps it.
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# Log text of a failed fork/thread start (RLIMIT_NPROC reached): glibc, libgomp, Python, shells.
PROCESS_LIMIT_MARKERS = ("Resource temporarily unavailable", "can't start new thread", "Cannot fork", "fork: retry",
                         "Thread creation failed", "cannot allocate memory for thread", "BlockingIOError: [Errno 11]")
_SIGNAL_MESSAGES = {
    signal.SIGABRT: "aborted (abort() or a failed assertion)",
    signal.SIGXCPU: "CPU time limit: the process used up its CPU seconds",
    signal.SIGXFSZ: "file size limit: the process wrote a file larger than allowed",
    signal.SIGSEGV: "segmentation fault (an invalid memory access)",
    signal.SIGBUS: "bus error (a misaligned or unmapped memory access)",
    signal.SIGFPE: "arithmetic exception (e.g. an integer division by zero)",
    signal.SIGILL: "illegal instruction (code built for another CPU, or a trap)",
    signal.SIGSYS: "bad system call (refused by the system-call filter)",
    signal.SIGKILL: "killed (SIGKILL: the runtime's time or memory enforcement, or the kernel's out-of-memory killer)",
    signal.SIGPIPE: "broken pipe (wrote to a channel whose reader had gone)",
    signal.SIGTERM: "terminated (SIGTERM)",
}


def describe_end(status, log="", stopped=False):
    """(reason, message) for how a confined process ended, naming what happened rather than a bare signal number:
    reason is "timeout" for time limits and stops, else "crash". `status` is exit_status()'s dict (or None)."""
    status = status or {}
    if stopped:
        return "timeout", "stopped: the process was suspended by a stop signal (SIGSTOP/SIGTSTP) and never resumed"
    number = status.get("signal")
    process_limit = any(marker in (log or "") for marker in PROCESS_LIMIT_MARKERS)
    if number is not None:
        if process_limit and number in (signal.SIGABRT, signal.SIGSEGV):
            return "crash", "process limit: starting a thread or process failed (RLIMIT_NPROC reached), then the process " \
                            + _SIGNAL_MESSAGES.get(number, "ended")
        if number == signal.SIGXCPU:
            return "timeout", _SIGNAL_MESSAGES[number]
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        return "crash", f"{_SIGNAL_MESSAGES.get(number, 'killed by ' + name)} [{name}]"
    code = status.get("exitCode")
    if process_limit and code not in (None, 0):
        return "crash", f"process limit: starting a thread or process failed (RLIMIT_NPROC reached); exit code {code}"
    return "crash", f"exited with code {code}" if code is not None else "ended without an exit status"


def default_temp_root():
    """A memory-backed folder when there is one (fast transfers), else the system's temp folder."""
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()


class ConfinedProcess:
    """One spawned supervisor and its confined child: a line channel, a status channel and a kill switch."""

    def __init__(self, supervisor_pid, command_write, response_read, status_read, directory, log_name):
        self.supervisor_pid = supervisor_pid
        self.directory = directory
        self.log_name = log_name
        self._command = command_write
        self._response = response_read
        self._status = status_read
        self._buffer = b""
        self._status_buffer = b""
        self.child_pid = None
        self.namespaces = {"network": False, "pidNamespace": False}
        self.killed = False
        self._read_status_line(time.monotonic() + 10)

    def _read_status_line(self, deadline):
        while b"\n" not in self._status_buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._status < 0:
                return None
            ready, _, _ = select.select([self._status], [], [], remaining)
            if not ready:
                return None
            chunk = os.read(self._status, 4096)
            if not chunk:
                return None
            self._status_buffer += chunk
        line, self._status_buffer = self._status_buffer.split(b"\n", 1)
        message = json.loads(line.decode())
        if "child" in message:
            self.child_pid = message["child"]
            self.namespaces = {"network": message["network"], "pidNamespace": message["pidNamespace"]}
        return message

    def send(self, message):
        """Writes one JSON line to the child; a closed pipe means it died."""
        self.send_text(json.dumps(message))

    def send_text(self, line):
        """Writes one text line (a command of the block protocol) to the child."""
        data = (line + "\n").encode()
        try:
            while data:
                written = os.write(self._command, data)
                data = data[written:]
        except OSError as error:
            raise WorkerDied("the worker closed its command channel") from error

    def receive(self, timeout):
        """Reads the child's next JSON line within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            # An answer already waiting in the pipe counts even when the deadline has passed.
            remaining = max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self._response], [], [], remaining)
            if not ready:
                raise WorkerTimeout(f"no answer within {timeout:.1f} s")
            chunk = os.read(self._response, 1 << 16)
            if not chunk:
                raise WorkerDied("the worker ended")
            self._buffer += chunk
            if len(self._buffer) > MAX_MESSAGE_BYTES:
                raise WorkerProtocolError("the worker's answer is too long")
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            message = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise WorkerProtocolError(f"the worker wrote a line that is not JSON: {line[:200]!r}") from error
        if not isinstance(message, dict):
            raise WorkerProtocolError("the worker's answer is not an object")
        return message

    def pending_bytes(self):
        """Bytes the child wrote beyond the answers read so far (an honest child writes one line per command)."""
        available = array.array("i", [0])
        fcntl.ioctl(self._response, termios.FIONREAD, available)
        return len(self._buffer) + available[0]

    def kill(self):
        """SIGKILLs the namespace's init (taking every process in it) and the whole process group."""
        self.killed = True
        if self.child_pid:
            try:
                os.kill(self.child_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.killpg(self.supervisor_pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def exit_status(self, timeout=2.0):
        """The child's end: {'exitCode': n} or {'signal': n}; None if the supervisor was killed first or the time ran out."""
        deadline = time.monotonic() + timeout
        while True:
            message = self._read_status_line(deadline)
            if message is None or "child" not in message:
                return message

    def log_tail(self, limit=4096):
        """The last bytes the child wrote to stdout/stderr."""
        path = os.path.join(self.directory, self.log_name)
        try:
            descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return ""
        with os.fdopen(descriptor, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            handle.seek(max(0, size - limit))
            return handle.read(limit).decode("utf-8", "replace")

    def stopped(self):
        """Whether the child is suspended by a stop signal (state T in /proc), e.g. it stopped itself."""
        try:
            with open(f"/proc/{self.child_pid}/stat") as handle:
                return handle.read().rsplit(")", 1)[1].split()[0] in ("T", "t")
        except (OSError, IndexError, TypeError):
            return False

    def wait_gone(self, timeout=5.0):
        """Waits until the supervisor and the child have exited (SIGKILL is asynchronous); False if they outlive timeout."""
        deadline = time.monotonic() + timeout
        pids = [pid for pid in (self.child_pid, self.supervisor_pid) if pid]
        while time.monotonic() < deadline:
            if not any(_alive(pid) for pid in pids):
                return True
            time.sleep(0.005)
        return False

    def close(self):
        """Kills what is left, waits until it is gone and closes the channels; safe to call twice."""
        self.kill()
        if not self.wait_gone():
            print(f"kernelevolve sandbox: process {self.child_pid} outlived SIGKILL", file=sys.stderr)
        for descriptor in (self._command, self._response, self._status):
            if descriptor >= 0:
                try:
                    os.close(descriptor)
                except OSError:
                    pass
        self._command = self._response = self._status = -1


class Sandbox:
    """Owns the zygote and hands out confined processes; degrades each isolation layer the OS refuses."""

    def __init__(self, isolate_network=True, pid_namespace=True, drop_user=True, temp_root=None, python=None, syscall_filter=True,
                 private_temp=True, read_only_root=True, fresh_proc=True):
        self.isolate_network = isolate_network
        # With private_temp: every other mount read-only in the child, and a /proc of its own (mounts.py).
        self.read_only_root = read_only_root
        self.fresh_proc = fresh_proc
        self._writable_roots = None
        self.pid_namespace = pid_namespace
        self.syscall_filter = syscall_filter
        self.private_temp = private_temp
        self.drop_user = drop_user and os.geteuid() == 0
        self.temp_root = temp_root or default_temp_root()
        self.python = python or sys.executable
        self._identity_base = IDENTITY_BASE + (os.getpid() % 4_000_000) * IDENTITIES_PER_RUNTIME
        self._identity_counter = 0
        self._owners = {}
        self._lock = threading.Lock()
        self._zygote = None
        self._control = None
        self._probe = {"network": False, "pidNamespace": False, "syscallFilter": False, "privateTemp": False}
        # What the confined user must be able to read: the interpreter, its packages and this package.
        self.expose_paths = sorted({sys.base_prefix, sys.prefix, PYTHON_ROOT, *[path for path in sys.path if os.path.isdir(path)]})

    def start(self):
        """Starts the zygote (about a second: it imports torch) unless it is running."""
        with self._lock:
            self._start_locked()

    def _start_locked(self):
        if self._zygote is not None and self._zygote.poll() is None:
            return
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "PYTHONPATH": PYTHON_ROOT,
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
            # Fewer malloc arenas keep the address space (RLIMIT_AS) close to what is really used.
            "MALLOC_ARENA_MAX": "2",
            # libgomp reads its environment once, when torch (which bundles it) is imported here; candidates'
            # kernels resolve `libgomp.so.1` to that same copy. Spinning pool threads burn their scheduler
            # credit, so on a busy machine every parallel region waited for a preempted spinner (a 7x33
            # layer_norm: 0.01 ms idle, 8-36 ms at load 10 on 2 cores); passive waiters sleep and are woken
            # promptly. Applies to reference and candidate alike (docs/runtime.md, "Timing").
            **OPENMP_ENVIRONMENT,
        }
        # LD_LIBRARY_PATH: where a GPU host keeps libcuda outside the loader cache (read once, when the zygote starts).
        for key in ("CUDA_VISIBLE_DEVICES", "TRITON_INTERPRET", "LD_LIBRARY_PATH", "CUDA_HOME", "TRITON_LIBCUDA_PATH"):
            if key in os.environ:
                environment[key] = os.environ[key]
        # A fresh exec with an allowlisted environment: the runtime's secrets never enter the zygote's memory.
        self._zygote = subprocess.Popen(
            [self.python, "-m", "kernelevolve_runtime.sandbox.zygote", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=sys.stderr.fileno(),
            cwd="/",
        )
        theirs.close()
        ours.settimeout(120)
        ready = json.loads(ours.recv(1 << 16).decode())
        ours.settimeout(None)
        self._control = ours
        self._probe = {key: bool(ready.get(key)) for key in ("network", "pidNamespace", "syscallFilter", "privateTemp")}

    def capabilities(self):
        """Which isolation mechanisms are active, in the shape of hello's `sandbox`."""
        self.start()
        return {
            "network": self.isolate_network and self._probe["network"],
            "pidNamespace": self.pid_namespace and self._probe["pidNamespace"],
            "dropUser": self.drop_user,
            "syscallFilter": self.syscall_filter and self._probe["syscallFilter"],
            "privateTemp": self.private_temp and self._probe["privateTemp"],
        }

    def make_directory(self):
        """A private folder for one confined process, owned by the fresh user id that process will run as."""
        directory = tempfile.mkdtemp(prefix="kernelevolve-", dir=self.temp_root)
        if self.drop_user:
            with self._lock:
                identity = self._identity_base + self._identity_counter % IDENTITIES_PER_RUNTIME
                self._identity_counter += 1
                self._owners[directory] = identity
            os.chown(directory, identity, identity)
        os.chmod(directory, 0o700)
        return directory

    def hand_over(self, path, directory):
        """Gives a file the runtime wrote into a private folder to that folder's confined user."""
        identity = self._owners.get(directory)
        if identity is not None:
            os.chown(path, identity, identity)

    def release_directory(self, directory):
        """Deletes a private folder (without following planted links) and forgets its user id."""
        shutil.rmtree(directory, ignore_errors=True)
        self._owners.pop(directory, None)

    def process_limit(self, threads):
        """RLIMIT_NPROC for a child: it counts every process of the child's user, so leave room for the threads it needs."""
        allowance = 32 + 2 * threads
        return allowance if self.drop_user else _process_count(os.getuid()) + allowance

    def _send_job(self, job, descriptors):
        socket.send_fds(self._control, [json.dumps(job).encode()], descriptors)
        return json.loads(self._control.recv(1 << 16).decode())

    def writable_roots(self):
        """The host's world-writable folders (found once): each becomes a private tmpfs in every child."""
        if self._writable_roots is None:
            from .mounts import world_writable_folders

            self._writable_roots = world_writable_folders()
        return self._writable_roots

    def spawn(self, kind, directory, limits, environment, argv=None, log_name="worker.log", pid_namespace=True, minimal_view=None):
        """Starts a confined process: 'worker' runs worker.serve_worker, 'command' execs argv, 'harness' execs argv with
        its command and response pipes ({command} and {response} in argv become their descriptor numbers).

        pid_namespace=False keeps the child in the host's pid namespace: the NVIDIA driver fails to
        initialise inside a new one (seen on the H200 host), so GPU workers rely on the process-group
        kill and the per-candidate user's RLIMIT_NPROC instead. minimal_view: folders (besides the system's)
        the child may see at all (compiles: mounts.minimal_view).
        """
        # The job reads the zygote's probe (which layers this OS grants): start it first.
        self.start()
        command_read, command_write = os.pipe()
        response_read, response_write = os.pipe()
        status_read, status_write = os.pipe()
        job = {
            "kind": kind,
            "directory": directory,
            "logName": log_name,
            "uid": self._owners.get(directory),
            "gid": self._owners.get(directory),
            "isolateNetwork": self.isolate_network,
            "pidNamespace": self.pid_namespace and pid_namespace,
            "syscallFilter": self.syscall_filter and self._probe["syscallFilter"],
            "privateTemp": self.private_temp and self._probe["privateTemp"],
            "limits": limits,
            "environment": environment,
            "argv": argv,
            "exposePaths": self.expose_paths,
            "writableRoots": self.writable_roots() if self.private_temp else None,
            "readOnlyRoot": self.read_only_root,
            "freshProc": self.fresh_proc,
            "minimalView": list(minimal_view) if minimal_view is not None else None,
        }
        descriptors = [command_read, response_write, status_write]
        try:
            with self._lock:
                self._start_locked()
                try:
                    answer = self._send_job(job, descriptors)
                except (OSError, ValueError):
                    # The zygote died (e.g. killed from outside): start a new one, once.
                    self._zygote = None
                    self._start_locked()
                    answer = self._send_job(job, descriptors)
        except BaseException:
            for descriptor in (command_write, response_read, status_read):
                os.close(descriptor)
            raise
        finally:
            for descriptor in descriptors:
                os.close(descriptor)
        if "pid" not in answer:
            raise RuntimeError(f"the zygote refused to spawn: {answer}")
        return ConfinedProcess(answer["pid"], command_write, response_read, status_read, directory, log_name)

    def run_command(self, argv, directory, limits, environment, timeout, log_name="command.log", minimal_view=None):
        """Runs a program confined (the compiler); returns (status, log, timed_out)."""
        process = self.spawn("command", directory, limits, environment, argv=argv, log_name=log_name, minimal_view=minimal_view)
        try:
            status = process.exit_status(timeout)
            timed_out = status is None
            if timed_out:
                # A stopped program never ends by itself: say so rather than "ran too long".
                status = {"stopped": True} if process.stopped() else None
                process.kill()
            return status, process.log_tail(64 * 1024), timed_out
        finally:
            process.close()

    def close(self):
        """Stops the zygote; confined processes die with it (parent-death signal)."""
        with self._lock:
            if self._control is not None:
                self._control.close()
                self._control = None
            if self._zygote is not None:
                try:
                    self._zygote.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._zygote.kill()
                    self._zygote.wait()
                self._zygote = None
