"""Runtime audit hooks for Python and Triton candidates (KernelBench ModelNew, Triton launchers).

The worker calls install(policy) right before it imports the candidate's module. From then on every audit event of
the interpreter (PEP 578) passes through a hook that cannot be removed, and the hook refuses:
- native code: every `ctypes.*` event (dlopen, dlsym, cdata, call_function, addressof, string_at, ...);
- processes: os.system, os.exec*, os.fork/forkpty, os.posix_spawn, os.spawn, subprocess.Popen (except the
  executables the policy names, and only when Triton's own code runs them), os.kill/killpg, signal.pthread_kill;
- network: every `socket.*` event;
- files: opening for writing (open, os.open, io.open) and os.remove/rename/mkdir/chmod/... outside the writable
  folders of the policy (the private folder, Triton's cache), and writing to an inherited descriptor by number;
- tracing and hooks: sys.settrace, sys.setprofile, sys.addaudithook (a later hook could only watch, never
  unhook this one, but it would run candidate code on every event), sys._current_frames, gc.get_objects/
  get_referrers/get_referents (reaching the worker's objects), setting a function's __code__;
- imports: any module imported after installation whose top-level name is not in the allowlist (what torch,
  triton, numpy and ordinary kernel code need; see ALLOWED_MODULES);
- introspection from candidate code itself (the nearest frame outside the standard library is the candidate's
  file): sys._getframe, traceback/generator frame access, compile/exec/eval, building code or function objects,
  marshal, and starting threads.
A refused event raises ForbiddenCall (a RuntimeError) in the candidate and is recorded first, so catching the
exception hides nothing: `violations()` lists it, and with policy["report_fd"] each violation is written at once as a
JSON line to that descriptor (the supervisor's end), before the exception is raised.

What audit hooks cannot see: attribute assignment on modules and classes (monkey-patching torch.cuda.synchronize or
torch.Tensor methods). For those, the trusted worker calls identity_snapshot() before and tampered() after each
candidate call; both compare against the original objects captured at install time. Pure-Python candidates share an
interpreter with the worker, so this layer is defence in depth: verdicts and timings must still be made outside
the candidate's process (docs/runtime.md, "Trust boundary").
"""
import json
import os
import sys
import sysconfig
import threading

FORBIDDEN = "forbidden_call"
_DEBUG = bool(os.environ.get("KERNELEVOLVE_GUARD_DEBUG"))

# Top-level modules a candidate (or torch/triton on its behalf) may import after installation.
ALLOWED_MODULES = frozenset({
    # the frameworks
    "torch", "triton", "numpy", "sympy", "mpmath", "einops", "filelock", "typing_extensions", "packaging", "jinja2",
    "markupsafe", "networkx", "fsspec", "functorch", "torchgen", "opt_einsum", "optree",
    # the standard library's computation, data structures and language support
    "__future__", "abc", "array", "ast", "bisect", "builtins", "cmath", "codecs", "collections", "colorsys",
    "contextlib", "contextvars", "copy", "copyreg", "dataclasses", "decimal", "difflib", "dis", "enum", "fractions",
    "functools", "gc", "hashlib", "heapq", "hmac", "inspect", "io", "itertools", "json", "keyword", "linecache",
    "locale", "logging", "math", "numbers", "opcode", "operator", "pprint", "random", "re", "reprlib", "sre_compile",
    "sre_constants", "sre_parse", "statistics", "string", "struct", "textwrap", "token", "tokenize", "traceback",
    "types", "typing", "unicodedata", "warnings", "weakref", "zlib", "base64", "binascii", "time", "datetime",
    "calendar", "uuid", "pickle", "_compat_pickle", "shlex", "fnmatch", "glob", "pathlib", "posixpath", "genericpath",
    "stat", "errno", "os", "sys", "importlib", "zipimport", "encodings", "atexit", "selectors", "select", "queue",
    "threading", "_weakrefset", "platform", "sysconfig", "tempfile", "shutil", "bz2", "lzma", "zipfile",
    "cProfile", "profile", "_lsprof", "pstats", "trace",
    # C accelerators of the modules above
    "_abc", "_ast", "_bisect", "_blake2", "_bz2", "_codecs", "_collections", "_collections_abc", "_contextvars",
    "_datetime", "_decimal", "_functools", "_hashlib", "_heapq", "_io", "_json", "_locale", "_lzma", "_md5",
    "_opcode", "_operator", "_pickle", "_random", "_sha1", "_sha256", "_sha3", "_sha512", "_sre", "_stat", "_string",
    "_struct", "_tokenize", "_typing", "_warnings", "_weakref", "_bootlocale", "_strptime", "_queue", "_uuid",
    "_pydecimal", "_sysconfigdata", "math", "_statistics", "_threading_local",
})
# Never importable, whatever the policy adds.
DENIED_MODULES = frozenset({
    "ctypes", "_ctypes", "subprocess", "_posixsubprocess", "socket", "_socket", "ssl", "_ssl", "multiprocessing",
    "_multiprocessing", "mmap", "pty", "fcntl", "resource", "signal", "termios", "tty", "cffi", "_cffi_backend",
    "pexpect", "psutil", "http", "urllib", "ftplib", "smtplib", "telnetlib", "xmlrpc", "asyncio", "concurrent",
    "faulthandler", "tracemalloc", "pdb", "bdb", "code", "codeop", "runpy", "marshal", "_posixshmem", "posix", "nt",
    "_xxsubinterpreters", "_testcapi", "_testinternalcapi", "readline", "sqlite3", "_sqlite3", "dbm", "shelve",
    "webbrowser", "gdb", "lldb",
})

_ALWAYS_DENIED_EVENTS = {
    "os.system": "runs a shell command", "os.exec": "replaces the process with a program",
    "os.fork": "forks the process", "os.forkpty": "forks the process", "os.posix_spawn": "starts a process",
    "os.spawn": "starts a process", "os.kill": "sends a signal", "os.killpg": "sends a signal",
    "signal.pthread_kill": "sends a signal to a thread", "sys.settrace": "installs a trace function",
    "sys.setprofile": "installs a profile function", "sys.addaudithook": "adds an audit hook",
    "sys._current_frames": "reads every thread's frames", "gc.get_objects": "walks every object of the interpreter",
    "gc.get_referrers": "walks the object graph", "gc.get_referents": "walks the object graph",
    "syslog.openlog": "writes to the system log", "pty.spawn": "starts a process", "winreg": "registry",
    "setopencodehook": "replaces the interpreter's code opener",
}
_DENIED_PREFIXES = {"ctypes.": "uses ctypes (native code from Python)", "socket.": "uses the network"}
# Events refused when the candidate's code makes them, directly or through the standard library (libraries use
# them legitimately).
_CANDIDATE_DENIED_EVENTS = {
    "sys._getframe": "reads interpreter frames", "sys._getframemodulename": "reads interpreter frames",
    "_thread.start_new_thread": "starts a thread (work outside the timed call)", "pickle.find_class": "unpickles objects",
    "builtins.input": "reads the terminal", "sys.setrecursionlimit": "changes interpreter limits",
    "os.putenv": "changes the environment", "os.unsetenv": "changes the environment",
}
# Refused only when the candidate's own line is the direct caller: the import system compiles and executes modules
# through these on the candidate's behalf (an `import` statement), which must keep working.
_DIRECT_DENIED_EVENTS = {
    "compile": "compiles code at run time", "exec": "executes dynamically built code", "code.__new__": "builds a code object",
    "function.__new__": "builds a function object", "marshal.loads": "loads marshalled code", "marshal.load": "loads marshalled code",
}
_FRAME_ATTRIBUTES = {"tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_back", "f_globals", "f_locals", "gi_code",
                     "cr_code", "ag_code", "__code__", "f_code"}
_FILE_EVENTS = {"os.remove": (0,), "os.rmdir": (0,), "os.mkdir": (0,), "os.rename": (0, 1), "os.chmod": (0,),
                "os.chown": (0,), "os.link": (0, 1), "os.symlink": (1,), "os.truncate": (0,), "os.utime": (0,),
                "os.chflags": (0,), "os.lchflags": (0,), "os.lchmod": (0,), "shutil.rmtree": (0,), "shutil.move": (0, 1),
                "shutil.copyfile": (1,), "shutil.copymode": (1,), "shutil.copystat": (1,), "shutil.copytree": (1,),
                "shutil.chown": (0,), "os.mkfifo": (0,), "os.mknod": (0,), "os.setxattr": (0,), "os.removexattr": (0,)}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


class ForbiddenCall(RuntimeError):
    """A candidate did something its sandbox refuses; `reason` is the verdict's failure reason."""

    reason = FORBIDDEN


class ForbiddenImport(ModuleNotFoundError):
    """An import outside the allowlist (an ImportError, so libraries' optional imports degrade as without the module)."""

    reason = FORBIDDEN


class _RefusedImport(Exception):
    def __init__(self, message, by_candidate):
        super().__init__(message)
        self.by_candidate = by_candidate


def _standard_library_folders():
    # Not "platstdlib": in a virtual environment that is the environment's lib folder, site-packages included.
    folders = {os.path.dirname(os.path.realpath(os.__file__)) + os.sep, os.path.dirname(os.__file__) + os.sep}
    path = sysconfig.get_paths().get("stdlib")
    if path:
        folders.add(os.path.realpath(path) + os.sep)
    return tuple(sorted(folders))


def _package_folder(name):
    module = sys.modules.get(name)
    path = getattr(module, "__file__", None) if module else None
    return os.path.dirname(os.path.realpath(path)) + os.sep if path else None


# (dotted path of a callable or class attribute) the trusted worker relies on: replacing any of them is tampering.
WATCHED = (
    "time.perf_counter", "time.perf_counter_ns", "time.monotonic", "time.monotonic_ns", "time.time", "time.time_ns",
    "time.process_time", "time.sleep", "os.write", "os.read", "os.getpid", "json.dumps", "json.loads", "select.select",
    "builtins.open", "builtins.__import__", "builtins.isinstance", "builtins.len", "builtins.id",
    "torch.cuda.synchronize", "torch.cuda.Event", "torch.cuda.Event.record", "torch.cuda.Event.elapsed_time",
    "torch.cuda.Event.synchronize", "torch.cuda.current_stream", "torch.cuda.default_stream", "torch.cuda.Stream",
    "torch.cuda.stream", "torch.cuda.set_stream", "torch.allclose", "torch.isclose", "torch.equal", "torch.isnan",
    "torch.isfinite", "torch.empty", "torch.empty_like", "torch.zeros", "torch.randn", "torch.rand", "torch.randint",
    "torch.Generator", "torch.no_grad", "torch.inference_mode", "torch.set_num_threads",
    "torch.get_num_threads", "torch.Tensor.copy_", "torch.Tensor.clone", "torch.Tensor.fill_", "torch.Tensor.zero_",
    "torch.Tensor.data_ptr", "torch.Tensor.__setitem__", "torch.Tensor.__getitem__", "torch.Tensor.cpu",
    "torch.Tensor.numpy", "torch.Tensor.to", "torch.Tensor.contiguous", "torch.Tensor.float", "torch.Tensor.double",
    "torch.Tensor.normal_", "torch.Tensor.uniform_", "torch.Tensor.isnan", "torch.Tensor.abs", "torch.Tensor.max",
    "torch.Tensor.sub", "torch.Tensor.__sub__", "torch.Tensor.equal", "torch.Tensor.allclose", "torch.Tensor.item",
    "torch.Tensor.tolist", "torch.Tensor.shape", "torch.Tensor.dtype", "torch.Tensor.device", "torch.Tensor.__eq__",
    "torch.nn.Module.__call__", "torch.nn.Module._call_impl", "torch.nn.Module.forward", "numpy.save", "numpy.load",
    "numpy.allclose", "numpy.asarray", "numpy.random.default_rng",
)


_THREAD_STARTS = ("_thread.start_new_thread", "threading._start_new_thread")


def _resolve(dotted):
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        module = sys.modules.get(".".join(parts[:split]))
        if module is not None:
            value = module
            try:
                for attribute in parts[split:]:
                    value = getattr(value, attribute) if not isinstance(value, type) else value.__dict__.get(attribute, getattr(value, attribute))
            except AttributeError:
                return None
            return value
    return None


def _settings():
    """Process-wide numeric settings the reference and the verdict depend on (a candidate's import must not change them)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return {}
    values = {
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "default_dtype": str(torch.get_default_dtype()),
        "deterministic": torch.are_deterministic_algorithms_enabled(),
        "grad_enabled": torch.is_grad_enabled(),
        "num_threads": torch.get_num_threads(),
    }
    backends = getattr(torch, "backends", None)
    if backends is not None:
        cuda = getattr(backends, "cuda", None)
        if cuda is not None and hasattr(cuda, "matmul"):
            values["cuda.matmul.allow_tf32"] = cuda.matmul.allow_tf32
            values["cuda.matmul.allow_fp16_reduced_precision_reduction"] = cuda.matmul.allow_fp16_reduced_precision_reduction
        cudnn = getattr(backends, "cudnn", None)
        if cudnn is not None:
            for name in ("enabled", "benchmark", "deterministic", "allow_tf32"):
                values[f"cudnn.{name}"] = getattr(cudnn, name, None)
    return values


class Guard:
    """The installed hook's state. One per process: install() refuses to run twice."""

    def __init__(self, policy):
        policy = dict(policy or {})
        self.writable = tuple(os.path.realpath(path) + os.sep for path in
                              [policy.get("private_dir") or os.getcwd(), *(policy.get("writable_dirs") or [])])
        self.candidate_files = {os.path.realpath(path) for path in policy.get("candidate_files") or []}
        self.candidate_folders = tuple(os.path.realpath(path) + os.sep for path in policy.get("candidate_dirs") or [])
        self.allowed_modules = (ALLOWED_MODULES | set(policy.get("allowed_modules") or [])) - DENIED_MODULES
        self.allowed_executables = frozenset(policy.get("allowed_executables") or [])
        self.report_fd = policy.get("report_fd")
        self.standard_library = _standard_library_folders()
        self.triton_folder = _package_folder("triton")
        self._violations = []
        self._local = threading.local()
        self._originals = {name: _resolve(name) for name in WATCHED}
        self._settings = _settings()

    # -- attribution -------------------------------------------------------------------------------------------
    def _is_candidate_file(self, filename):
        if not filename:
            return False
        if filename in self.candidate_files:
            return True
        real = os.path.realpath(filename) if not filename.startswith("<") else filename
        return real in self.candidate_files or (bool(self.candidate_folders) and real.startswith(self.candidate_folders))

    def _outside_standard_library(self, frame):
        """The nearest frame (from `frame` outwards) whose code is not the standard library's, or None."""
        while frame is not None:
            filename = frame.f_code.co_filename
            if (not filename.startswith(self.standard_library) or "-packages" + os.sep in filename) and not filename.startswith("<frozen"):
                return frame
            frame = frame.f_back
        return None

    def _caller(self):
        """The nearest non-standard-library frame outside this module (read with the hook re-entrancy flag set)."""
        frame = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename == __file__:
            frame = frame.f_back
        return self._outside_standard_library(frame)

    def _candidate_caller(self):
        """Whether the nearest frame outside the standard library and this module is the candidate's code."""
        frame = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename == __file__:
            frame = frame.f_back
        frame = self._outside_standard_library(frame)
        return frame is not None and self._is_candidate_file(frame.f_code.co_filename)

    def _direct_caller(self):
        frame = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename == __file__:
            frame = frame.f_back
        return frame

    def _candidate_on_stack(self):
        frame = sys._getframe(2)
        while frame is not None:
            if self._is_candidate_file(frame.f_code.co_filename):
                return True
            frame = frame.f_back
        return False

    # -- decisions ---------------------------------------------------------------------------------------------
    def _writable(self, path):
        if isinstance(path, int):
            return False
        try:
            real = os.path.realpath(os.fsdecode(path))
        except (TypeError, ValueError):
            return False
        return (real + os.sep).startswith(self.writable)

    def _decide(self, event, arguments):
        """None to allow, or the message of a refusal."""
        if event in _ALWAYS_DENIED_EVENTS:
            return f"{event}: {_ALWAYS_DENIED_EVENTS[event]}"
        for prefix, message in _DENIED_PREFIXES.items():
            if event.startswith(prefix):
                return f"{event}: {message}"
        if event == "open":
            path, mode, flags = (list(arguments) + [None, None, None])[:3]
            writing = (isinstance(mode, str) and any(letter in mode for letter in "wax+")) or (
                isinstance(flags, int) and flags & _WRITE_FLAGS)
            if writing and not self._writable(path):
                return f"open: writes to {path!r}, outside the private folder"
            return None
        if event in _FILE_EVENTS:
            for index in _FILE_EVENTS[event]:
                if index < len(arguments) and not self._writable(arguments[index]):
                    return f"{event}: changes {arguments[index]!r}, outside the private folder"
            return None
        if event == "subprocess.Popen":
            executable = os.path.basename(os.fsdecode(arguments[0])) if arguments and arguments[0] else ""
            if executable in self.allowed_executables and self.triton_folder and not self._candidate_on_stack():
                caller = self._caller()
                if caller is not None and caller.f_code.co_filename.startswith(self.triton_folder):
                    return None
            return f"subprocess.Popen: starts {executable or 'a process'!r}"
        if event == "import":
            # Only the candidate's own imports are judged (an import statement in its file, importlib or __import__
            # called from it): libraries import what they need, and every dangerous use (ctypes, sockets, processes,
            # files) is refused by its own event whoever imported the module.
            name = arguments[0] if arguments else ""
            top = name.split(".")[0]
            if (top in DENIED_MODULES or top not in self.allowed_modules) and self._candidate_caller():
                raise _RefusedImport(f"import: imports {name!r}, which candidates may not use", True)
            return None
        if event == "object.__setattr__":
            # Raised for a function's __code__ and a class's special attributes (__doc__, __name__, __bases__...),
            # which libraries set while they load; plain attribute assignment raises nothing (see tampered()).
            if len(arguments) > 1 and arguments[1] == "__code__":
                return "object.__setattr__: replaces a function's code"
            if len(arguments) > 1 and arguments[1] in ("__bases__", "__class__") and self._candidate_caller():
                return f"object.__setattr__: the candidate changes {arguments[1]} of {getattr(arguments[0], '__qualname__', '?')!r}"
            return None
        if event in _DIRECT_DENIED_EVENTS:
            caller = self._direct_caller()
            if caller is not None and self._is_candidate_file(caller.f_code.co_filename):
                return f"{event}: the candidate {_DIRECT_DENIED_EVENTS[event]}"
            return None
        if event in ("object.__getattr__", "object.__delattr__") or event in _CANDIDATE_DENIED_EVENTS:
            if event == "object.__getattr__" and (len(arguments) < 2 or arguments[1] not in _FRAME_ATTRIBUTES):
                return None
            if self._candidate_caller():
                what = _CANDIDATE_DENIED_EVENTS.get(event) or f"reads {arguments[1]!r}"
                return f"{event}: the candidate {what}"
            return None
        return None

    def hook(self, event, arguments):
        local = self._local
        if getattr(local, "busy", False):
            return
        local.busy = True
        refused_import = None
        try:
            message = self._decide(event, arguments)
            if message is not None and _DEBUG:
                frame = sys._getframe(1)
                while frame is not None:
                    print(f"  guard: {message}: {frame.f_code.co_filename}:{frame.f_lineno}", file=sys.stderr)
                    frame = frame.f_back
        except _RefusedImport as refusal:
            message, refused_import = None, refusal
        except Exception as error:  # noqa: BLE001 - a hook that cannot decide refuses
            message = f"{event}: the guard could not check this event ({error!r})"
        finally:
            local.busy = False
        if refused_import is not None:
            if refused_import.by_candidate:
                self._record(event, str(refused_import))
            raise ForbiddenImport(str(refused_import))
        if message is not None:
            self._record(event, message)
            raise ForbiddenCall(message)

    def _record(self, event, message):
        record = {"reason": FORBIDDEN, "event": event, "message": message}
        self._violations.append(record)
        if self.report_fd is not None:
            try:
                os.write(self.report_fd, (json.dumps(record) + "\n").encode())
            except OSError:
                pass

    # -- the worker's side -------------------------------------------------------------------------------------
    def violations(self):
        """Every refused event so far, oldest first (copies: the caller cannot change the record)."""
        return [dict(entry) for entry in self._violations]

    def identity_snapshot(self):
        """{name: object} of every watched callable as it is now; compare with tampered()."""
        return {name: _resolve(name) for name in WATCHED}

    def tampered(self, snapshot=None):
        """Names of watched objects that differ from the originals (or from `snapshot`) and numeric settings that
        changed since installation. Empty when nothing was touched."""
        baseline = snapshot if snapshot is not None else self._originals
        changed = [name for name in WATCHED + _THREAD_STARTS if _resolve(name) is not baseline.get(name, self._originals.get(name))]
        now = _settings()
        changed += [f"setting {key}: {value!r} -> {now.get(key)!r}" for key, value in self._settings.items() if now.get(key) != value]
        return sorted(changed)


_installed = None


def _guard_thread_starts(guard):
    """Python 3.11 raises no audit event for a new thread: the start functions are wrapped instead (candidate code
    may not start threads; libraries may), and tampered() reports the wrappers' replacement."""
    import _thread

    original = _thread.start_new_thread

    def start_new_thread(function, arguments, keywords=None, /):
        guard._local.busy = True  # the frame walk below must not be judged by the hook
        try:
            by_candidate = guard._candidate_caller()
        finally:
            guard._local.busy = False
        if by_candidate:
            message = "_thread.start_new_thread: the candidate starts a thread (work outside the timed call)"
            guard._record("_thread.start_new_thread", message)
            raise ForbiddenCall(message)
        return original(function, arguments, *([keywords] if keywords is not None else []))

    _thread.start_new_thread = start_new_thread
    threading._start_new_thread = start_new_thread
    guard._originals["_thread.start_new_thread"] = start_new_thread
    guard._originals["threading._start_new_thread"] = start_new_thread


def install(policy=None):
    """Installs the hook for the rest of the process's life and returns the Guard (see the module docstring).

    policy keys (all optional): private_dir (writable; default the current folder), writable_dirs (e.g. Triton's
    cache), candidate_files / candidate_dirs (the candidate's source: events its own code makes are judged
    stricter), allowed_modules (extra top-level names), allowed_executables (basenames Triton's compiler may run on
    a GPU, e.g. "ptxas"), report_fd (each violation is written there as a JSON line when it happens),
    no_processes (True: also a seccomp filter denying fork, exec and non-thread clone at the kernel, which no
    Python candidate on the cpu platform or under TRITON_INTERPRET needs).

    On a GPU, Triton initialises its driver through ctypes (refused after installation) and compiles each new kernel
    by running ptxas and a C compiler for its launcher: initialise the driver before installing (e.g.
    `triton.runtime.driver.active.get_current_device()`), pass allowed_executables=("ptxas", <the C compiler's
    basename>) and Triton's cache folder in writable_dirs, and leave no_processes off. Not yet run on a GPU host.
    """
    global _installed
    if _installed is not None:
        raise RuntimeError("the audit guard is already installed in this process")
    policy = dict(policy or {})
    if policy.get("no_processes"):
        from . import seccomp

        seccomp.install_program(seccomp.no_process_program())
    guard = Guard(policy)
    # Imported now, so the hook never triggers an import from inside itself.
    os.path.realpath("/")
    _guard_thread_starts(guard)
    sys.addaudithook(guard.hook)
    _installed = guard
    return guard


def installed():
    """The installed Guard, or None."""
    return _installed
