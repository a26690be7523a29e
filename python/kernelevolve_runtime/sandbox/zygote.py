"""The zygote: a clean-environment process that has imported torch and forks one confined process per candidate.

Run by sandbox.Sandbox as `python -m kernelevolve_runtime.sandbox.zygote <socket fd>`; it never computes, so
forking it is safe and cheap. Each spawn forks a supervisor (own session, namespaces) which forks
the confined child (limits, an unprivileged user, private folder, allowlisted environment).
"""
import ctypes
import json
import os
import resource
import signal
import socket
import sys

from . import mounts, seccomp

CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38

_libc = ctypes.CDLL(None, use_errno=True)


def _prctl(option, value):
    return _libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0) == 0


def _unshare(flags):
    return _libc.unshare(ctypes.c_int(flags)) == 0


def enter_namespaces(network, pid_namespace):
    """Unshares the network and pid namespaces where the OS allows it; returns which took effect."""
    wanted = (CLONE_NEWNET if network else 0) | (CLONE_NEWPID if pid_namespace else 0)
    if not wanted:
        return False, False
    # Without root, a user namespace grants the capability the other two need.
    extra = 0 if os.geteuid() == 0 else CLONE_NEWUSER
    if _unshare(wanted | extra):
        return bool(network), bool(pid_namespace)
    got_network = bool(network) and _unshare(CLONE_NEWNET | extra)
    got_pid = bool(pid_namespace) and _unshare(CLONE_NEWPID | (0 if got_network else extra))
    return got_network, got_pid


def _close_other_descriptors(keep):
    previous = 3
    for descriptor in sorted(keep) + [os.sysconf("SC_OPEN_MAX")]:
        if descriptor > previous:
            os.closerange(previous, descriptor)
        previous = max(previous, descriptor + 1)


def _virtual_memory_bytes():
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _set_limit(kind, value):
    try:
        resource.setrlimit(kind, (value, value))
    except (ValueError, OSError) as error:
        print(f"kernelevolve sandbox: cannot set limit {kind}: {error}", file=sys.stderr)


def _confine(job):
    """Applies limits, the private folder, the user drop and the environment allowlist in the child."""
    limits = job["limits"]
    _set_limit(resource.RLIMIT_CORE, 0)
    _set_limit(resource.RLIMIT_FSIZE, limits["fileBytes"])
    _set_limit(resource.RLIMIT_NOFILE, limits["openFiles"])
    _set_limit(resource.RLIMIT_CPU, limits["cpuSeconds"])
    _set_limit(resource.RLIMIT_NPROC, limits["processes"])
    if limits.get("addressSpaceBytes"):
        # On top of what the already-imported runtime occupies, so the number means "what the candidate may add".
        _set_limit(resource.RLIMIT_AS, _virtual_memory_bytes() + limits["addressSpaceBytes"])
    os.chdir(job["directory"])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    log = os.open(os.path.join(job["directory"], job.get("logName", "worker.log")), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(null)
    os.close(log)
    # No POSIX message queues: they would outlive the child where there is no IPC namespace of its own.
    _set_limit(resource.RLIMIT_MSGQUEUE, 0)
    if job.get("freshProc"):
        # Still privileged here, and the first process of its pid namespace: its own /proc (mounts.fresh_proc).
        mounts.fresh_proc()
    if job.get("uid") is not None and os.geteuid() == 0:
        os.setgroups([])
        os.setgid(job["gid"])
        os.setuid(job["uid"])
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    if job.get("syscallFilter"):
        # Fails closed: a child that was promised the filter and cannot get it never runs the candidate.
        seccomp.install()
    # Set after the user change, which clears it: the child dies with its supervisor.
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    os.environ.clear()
    os.environ.update(job["environment"])


def _start_namespace_init(descriptors):
    """Forks pid 1 of the new pid namespace, which only reaps orphans, so the confined child is pid 2: an init
    ignores its own default-action signals, so a child that was pid 1 and called abort() ended by SIGSEGV (glibc's
    last resort), and the verdict named the wrong signal. Same process group as the child: the runtime's group kill
    takes it, and with it every process left in the namespace."""
    reaper = os.fork()
    if reaper == 0:
        try:
            for descriptor in descriptors:
                os.close(descriptor)
            _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            # A handler, not SIG_DFL (ignored): pause() must wake when an orphan ends, so it is reaped at once.
            signal.signal(signal.SIGCHLD, lambda number, frame: None)
            while True:
                try:
                    os.wait()
                except ChildProcessError:
                    signal.pause()
                except InterruptedError:
                    continue
        finally:
            os._exit(0)
    return reaper


def _supervise(job, descriptors):
    """The supervisor: own session, namespaces, then forks the confined child and reports its fate."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setsid()
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    command_read, response_write, status_write = descriptors
    _close_other_descriptors({command_read, response_write, status_write})
    network, pid_namespace = enter_namespaces(job["isolateNetwork"], job["pidNamespace"])
    try:
        # A new IPC namespace too where there is a pid namespace (not on GPU hosts, whose driver is untested in one).
        if (os.geteuid() == 0 and (job.get("privateTemp") or job.get("uid") is not None)
                and mounts.enter_namespace(ipc=pid_namespace)):
            expose_paths = job.get("exposePaths") or []
            writable = []
            if job.get("privateTemp"):
                writable = mounts.private_temporaries([job["directory"]], expose_paths,
                                                      roots=job.get("writableRoots") or mounts.TEMPORARY_ROOTS)
            if job.get("uid") is not None:
                # The dropped user must still reach the Python installation (e.g. a pyenv under /root).
                mounts.expose(mounts.paths_to_expose(expose_paths))
            if job.get("minimalView") is not None:
                mounts.minimal_view([job["directory"], *job["minimalView"]])
            if job.get("privateTemp") and job.get("readOnlyRoot"):
                mounts.read_only_view(writable)
            job["freshProc"] = bool(job.get("privateTemp") and job.get("freshProc"))
    except OSError as error:
        # Fails closed: a half-built mount namespace never runs a candidate. The log says why.
        message = f"kernelevolve sandbox: cannot build the private mounts: {error}"
        print(message, file=sys.stderr)
        with open(os.path.join(job["directory"], job.get("logName", "worker.log")), "a") as log:
            log.write(message + "\n")
        os._exit(123)
    reaper = _start_namespace_init(descriptors) if pid_namespace else None
    child = os.fork()
    if child == 0:
        code = 0
        try:
            os.close(status_write)
            _confine(job)
            if job["kind"] == "command":
                os.close(command_read)
                os.close(response_write)
                os.execve(job["argv"][0], job["argv"], job["environment"])
            if job["kind"] == "harness":
                # The native harness (no interpreter): it reads commands and answers on the two pipes, named in its argv.
                os.set_inheritable(command_read, True)
                os.set_inheritable(response_write, True)
                argv = [str(command_read) if part == "{command}" else str(response_write) if part == "{response}" else part for part in job["argv"]]
                os.execve(argv[0], argv, job["environment"])
            from ..fitness.worker import serve_worker

            serve_worker(command_read, response_write)
        except SystemExit as error:
            code = error.code if isinstance(error.code, int) else 1
        except BaseException as error:  # noqa: BLE001 - the child must never return into the zygote's loop
            print(f"kernelevolve sandbox: child failed: {error!r}", file=sys.stderr)
            code = 121
        finally:
            os._exit(code)
    os.close(command_read)
    os.close(response_write)
    status = os.fdopen(status_write, "w")
    status.write(json.dumps({"child": child, "network": network, "pidNamespace": pid_namespace}) + "\n")
    status.flush()
    _, wait_status = os.waitpid(child, 0)
    if reaper is not None:
        # The namespace's init ends with the child: whatever the candidate left running in it dies too.
        os.kill(reaper, signal.SIGKILL)
        os.waitpid(reaper, 0)
    if os.WIFSIGNALED(wait_status):
        status.write(json.dumps({"signal": os.WTERMSIG(wait_status)}) + "\n")
    else:
        status.write(json.dumps({"exitCode": os.WEXITSTATUS(wait_status)}) + "\n")
    status.flush()
    os._exit(0)


def _probe():
    """Forks to learn which namespaces and whether the system-call filter this OS grants (reported by hello)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        network, pid_namespace = enter_namespaces(True, True)
        private_temp = os.geteuid() == 0 and mounts.enter_namespace()
        os.write(write_end, json.dumps({"network": network, "pidNamespace": pid_namespace, "privateTemp": private_temp}).encode())
        os._exit(0)
    os.close(write_end)
    data = os.read(read_end, 4096)
    os.close(read_end)
    os.waitpid(pid, 0)
    try:
        probe = json.loads(data.decode())
    except ValueError:
        probe = {"network": False, "pidNamespace": False, "privateTemp": False}
    return {**probe, "syscallFilter": seccomp.supported()}


def _prewarm():
    """Pays numpy's lazy first-use costs once here instead of in every worker; no torch op runs (no thread pools)."""
    import io

    import numpy

    generator = numpy.random.default_rng([1, 2, 3])
    buffer = io.BytesIO()
    numpy.save(buffer, generator.normal(size=4), allow_pickle=False)
    buffer.seek(0)
    numpy.load(buffer, allow_pickle=False)


def main(argv):
    """Serves spawn requests on the inherited socket until the runtime closes it."""
    control = socket.socket(fileno=int(argv[0]))
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    # Imported once here so every confined child starts warm.
    import numpy  # noqa: F401
    import torch  # noqa: F401

    from ..fitness import worker  # noqa: F401
    from ..platforms import registry  # noqa: F401

    _prewarm()
    probe = _probe()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    control.send(json.dumps({"ready": True, "pid": os.getpid(), **probe}).encode())
    while True:
        try:
            message, descriptors, _, _ = socket.recv_fds(control, 1 << 20, 3)
        except OSError:
            break
        if not message:
            break
        job = json.loads(message.decode())
        if len(descriptors) != 3:
            for descriptor in descriptors:
                os.close(descriptor)
            control.send(json.dumps({"error": "expected three descriptors"}).encode())
            continue
        pid = os.fork()
        if pid == 0:
            try:
                control.close()
                _supervise(job, descriptors)
            finally:
                os._exit(122)
        for descriptor in descriptors:
            os.close(descriptor)
        control.send(json.dumps({"pid": pid}).encode())
    return 0


if __name__ == "__main__":
    status = main(sys.argv[1:])
    sys.stderr.flush()
    # Skips torch's slow interpreter teardown: there is nothing to save.
    os._exit(status)
