"""A seccomp system-call filter for confined candidates: the calls a kernel never needs and a sandbox escape would.

Installed in the confined child after PR_SET_NO_NEW_PRIVS (so no privilege is needed) and inherited by
everything it execs. It is a deny list in the spirit of container runtimes' default profiles, which CUDA,
Triton and PyTorch are known to run under: namespace and mount control, tracing and reading other
processes' memory, kernel modules and kexec, eBPF and perf events, the kernel keyring, userfaultfd,
io_uring (which would bypass the filter's view of I/O), clock and system administration. Denied calls fail
with EPERM; clone3 fails with ENOSYS so C libraries fall back to clone, whose namespace flags are checked
(clone3 passes its flags in memory, which a classic BPF filter cannot read). A call made through another
architecture's entry (i386 `int 0x80`, x32) is refused outright, since its numbers mean other calls.
"""
import ctypes
import os
import platform
import struct

PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

# Classic BPF opcodes.
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06

RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000
EPERM = 1
ENOSYS = 38

# struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6] (little-endian hosts only).
_OFFSET_NR = 0
_OFFSET_ARCH = 4
_OFFSET_ARG0_LOW = 16

# CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
X32_SYSCALL_BIT = 0x40000000

DENIED = (
    "ptrace", "process_vm_readv", "process_vm_writev",
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
    "fsopen", "fsconfig", "fsmount", "move_mount", "open_tree", "mount_setattr",
    "open_by_handle_at", "name_to_handle_at",
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
    "bpf", "perf_event_open", "userfaultfd",
    "keyctl", "add_key", "request_key",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "swapon", "swapoff", "reboot", "acct", "quotactl", "syslog", "vhangup", "lookup_dcookie",
    "settimeofday", "clock_settime", "adjtimex",
    "iopl", "ioperm", "uselib",
)

# System-call numbers per architecture (linux/audit.h AUDIT_ARCH_*; x86_64 asm/unistd_64.h, aarch64 asm-generic).
_NEW = {"fsopen": 430, "fsconfig": 431, "fsmount": 432, "move_mount": 429, "open_tree": 428, "mount_setattr": 442,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "clone3": 435}
ARCHITECTURES = {
    "x86_64": {
        "audit": 0xC000003E,
        "numbers": {
            "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "mount": 165, "umount2": 166,
            "pivot_root": 155, "chroot": 161, "unshare": 272, "setns": 308, "open_by_handle_at": 304,
            "name_to_handle_at": 303, "init_module": 175, "finit_module": 313, "delete_module": 176, "kexec_load": 246,
            "kexec_file_load": 320, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323, "keyctl": 250,
            "add_key": 248, "request_key": 249, "swapon": 167, "swapoff": 168, "reboot": 169, "acct": 163,
            "quotactl": 179, "syslog": 103, "vhangup": 153, "lookup_dcookie": 212, "settimeofday": 164,
            "clock_settime": 227, "adjtimex": 159, "iopl": 172, "ioperm": 173, "uselib": 134, "clone": 56, **_NEW,
        },
        "x32": True,
    },
    "aarch64": {
        "audit": 0xC00000B7,
        "numbers": {
            "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "mount": 40, "umount2": 39,
            "pivot_root": 41, "chroot": 51, "unshare": 97, "setns": 268, "open_by_handle_at": 265,
            "name_to_handle_at": 264, "init_module": 105, "finit_module": 273, "delete_module": 106, "kexec_load": 104,
            "kexec_file_load": 294, "bpf": 280, "perf_event_open": 241, "userfaultfd": 282, "keyctl": 219,
            "add_key": 217, "request_key": 218, "swapon": 224, "swapoff": 225, "reboot": 142, "acct": 89,
            "quotactl": 60, "syslog": 116, "vhangup": 58, "lookup_dcookie": 18, "settimeofday": 170,
            "clock_settime": 112, "adjtimex": 171, "clone": 220, **_NEW,
        },
        "x32": False,
    },
}


class _Filter:
    """Classic BPF with forward jumps to named labels, resolved when the program is assembled."""

    def __init__(self):
        self.instructions = []  # (code, jump-if-true label or offset, jump-if-false label or offset, k)
        self.labels = {}

    def emit(self, code, k, true=0, false=0):
        self.instructions.append((code, true, false, k))

    def label(self, name):
        self.labels[name] = len(self.instructions)

    def assemble(self):
        packed = []
        for index, (code, true, false, k) in enumerate(self.instructions):
            offsets = []
            for target in (true, false):
                offset = self.labels[target] - index - 1 if isinstance(target, str) else target
                if not 0 <= offset <= 255:
                    raise ValueError(f"BPF jump out of range at instruction {index}")
                offsets.append(offset)
            packed.append(struct.pack("<HBBI", code, offsets[0], offsets[1], k & 0xFFFFFFFF))
        return b"".join(packed)


def host_architecture():
    """The architecture table for this host, or None where no filter is defined (the layer is then reported off)."""
    return ARCHITECTURES.get(platform.machine())


def _base_program(architecture):
    """The part every filter starts with: a foreign architecture's entry denied, then each call of DENIED."""
    numbers = architecture["numbers"]
    program = _Filter()
    program.emit(_LD_W_ABS, _OFFSET_ARCH)
    program.emit(_JEQ_K, architecture["audit"], 0, "deny")
    program.emit(_LD_W_ABS, _OFFSET_NR)
    if architecture["x32"]:
        program.emit(_JGE_K, X32_SYSCALL_BIT, "deny", 0)
    for name in DENIED:
        if name in numbers:
            program.emit(_JEQ_K, numbers[name], "deny", 0)
    return program


def build_program(architecture):
    """The filter for one architecture as packed `struct sock_filter` entries."""
    numbers = architecture["numbers"]
    program = _base_program(architecture)
    program.emit(_JEQ_K, numbers["clone3"], "no_such_call", 0)
    program.emit(_JEQ_K, numbers["clone"], 0, "allow")
    program.emit(_LD_W_ABS, _OFFSET_ARG0_LOW)
    program.emit(_JSET_K, CLONE_NAMESPACE_FLAGS, "deny", 0)
    program.label("allow")
    program.emit(_RET_K, RET_ALLOW)
    program.label("deny")
    program.emit(_RET_K, RET_ERRNO | EPERM)
    program.label("no_such_call")
    program.emit(_RET_K, RET_ERRNO | ENOSYS)
    return program.assemble()


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install_program(code):
    """Installs packed `struct sock_filter` entries on the calling thread (and what it forks or execs); OSError on refusal.

    Sets PR_SET_NO_NEW_PRIVS first (idempotent), so no privilege is needed. Irreversible for this process.
    """
    buffer = ctypes.create_string_buffer(code, len(code))
    program = _SockFprog(len(code) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(38, ctypes.c_ulong(1), 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
    if libc.prctl(PR_SET_SECCOMP, ctypes.c_ulong(SECCOMP_MODE_FILTER), ctypes.byref(program), 0, 0) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"seccomp filter refused: {os.strerror(error)}")


def install():
    """Installs the filter on the calling thread (and everything it forks or execs); raises OSError on refusal.

    Irreversible for this process.
    """
    architecture = host_architecture()
    if architecture is None:
        raise OSError(0, f"no system-call filter is defined for {platform.machine()}")
    install_program(build_program(architecture))


def supported():
    """Whether this kernel and architecture take the filter: tried in a throw-away child, never in the caller."""
    if host_architecture() is None:
        return False
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(38, ctypes.c_ulong(1), 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
            install()
            # The filter must bite: unshare is denied with EPERM even where root could otherwise do it.
            code = 0 if libc.unshare(ctypes.c_int(0x04000000)) != 0 and ctypes.get_errno() == EPERM else 2
        except BaseException:  # noqa: BLE001 - a probe child reports through its exit code only
            code = 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


# ---------------------------------------------------------------------------------------------------------------
# The strict filter of the native candidate stage.
#
# Installed by the trusted C harness (prctl, after PR_SET_NO_NEW_PRIVS) before it dlopens the candidate's library,
# so it binds the library's constructors too. On top of everything DENIED above, a kernel may not start programs
# or processes, and may not make memory both writable and executable:
# - execve/execveat, fork/vfork: denied; clone only with CLONE_THREAD (threads of this process: pthreads, OpenMP)
#   and without namespace flags; clone3 answers ENOSYS (its flags are in memory), so glibc falls back to clone.
# - W^X: mmap asking for PROT_WRITE|PROT_EXEC at once is denied; mprotect/pkey_mprotect adding PROT_EXEC is
#   denied (the dynamic loader maps segments with mmap at their final protection, and only mprotects them to
#   PROT_NONE or PROT_READ); shmat with SHM_EXEC is denied; memfd_create is denied (a memfd mapped twice, once
#   writable and once executable, would be W^X by two views); personality is denied (READ_IMPLIES_EXEC would make
#   every readable mapping executable).
# What the filter cannot see: which file an executable mmap comes from. A candidate that writes code into a file
# and maps it PROT_READ|PROT_EXEC is stopped by the mounts (every writable place is mounted noexec) and by the
# symbol policy (no open/mmap imports, no raw syscall instructions), not here; /proc/self/mem likewise.

CLONE_THREAD = 0x00010000
PROT_WRITE = 0x2
PROT_EXEC = 0x4
SHM_EXEC = 0o100000
_ALU_AND_K = 0x54
_OFFSET_ARG2_LOW = 16 + 8 * 2

PROCESS_DENIED = ("execve", "execveat", "fork", "vfork")
STRICT_DENIED = PROCESS_DENIED + ("memfd_create", "personality")
_STRICT_NUMBERS = {
    "x86_64": {"execve": 59, "execveat": 322, "fork": 57, "vfork": 58, "memfd_create": 319, "personality": 135,
               "mmap": 9, "mprotect": 10, "pkey_mprotect": 329, "shmat": 30},
    # asm-generic has no fork or vfork: C libraries implement both with clone, which the clone check covers.
    "aarch64": {"execve": 221, "execveat": 281, "memfd_create": 279, "personality": 92,
                "mmap": 222, "mprotect": 226, "pkey_mprotect": 288, "shmat": 196},
}


def build_strict_program(architecture, strict_numbers, write_xor_execute=True):
    """The strict candidate-stage filter for one architecture as packed `struct sock_filter` entries.

    write_xor_execute=False leaves memory protections alone (for interpreters whose libraries JIT machine code,
    e.g. torch's oneDNN on the CPU) and keeps the rest: no exec, no processes, threads only.
    """
    numbers = architecture["numbers"]
    program = _base_program(architecture)
    for name in STRICT_DENIED if write_xor_execute else PROCESS_DENIED:
        if name in strict_numbers:
            program.emit(_JEQ_K, strict_numbers[name], "deny", 0)
    program.emit(_JEQ_K, numbers["clone3"], "no_such_call", 0)
    program.emit(_JEQ_K, numbers["clone"], "clone", 0)
    if not write_xor_execute:
        program.emit(_RET_K, RET_ALLOW)
    program.emit(_JEQ_K, strict_numbers["mmap"], "mmap", 0)
    program.emit(_JEQ_K, strict_numbers["mprotect"], "mprotect", 0)
    program.emit(_JEQ_K, strict_numbers["pkey_mprotect"], "mprotect", 0)
    program.emit(_JEQ_K, strict_numbers["shmat"], "shmat", 0)
    program.emit(_RET_K, RET_ALLOW)
    # clone: a thread of this process (CLONE_THREAD set) and no new namespace.
    program.label("clone")
    program.emit(_LD_W_ABS, _OFFSET_ARG0_LOW)
    program.emit(_JSET_K, CLONE_NAMESPACE_FLAGS, "deny", 0)
    program.emit(_JSET_K, CLONE_THREAD, "allow", "deny")
    # mmap(addr, length, prot, ...): never writable and executable at once.
    program.label("mmap")
    program.emit(_LD_W_ABS, _OFFSET_ARG2_LOW)
    program.emit(_ALU_AND_K, PROT_WRITE | PROT_EXEC)
    program.emit(_JEQ_K, PROT_WRITE | PROT_EXEC, "deny", "allow")
    # mprotect(addr, length, prot) and pkey_mprotect(addr, length, prot, pkey): never to executable.
    program.label("mprotect")
    program.emit(_LD_W_ABS, _OFFSET_ARG2_LOW)
    program.emit(_JSET_K, PROT_EXEC, "deny", "allow")
    # shmat(id, addr, flags): no executable attachment.
    program.label("shmat")
    program.emit(_LD_W_ABS, _OFFSET_ARG2_LOW)
    program.emit(_JSET_K, SHM_EXEC, "deny", "allow")
    program.label("allow")
    program.emit(_RET_K, RET_ALLOW)
    program.label("deny")
    program.emit(_RET_K, RET_ERRNO | EPERM)
    program.label("no_such_call")
    program.emit(_RET_K, RET_ERRNO | ENOSYS)
    return program.assemble()


def strict_candidate_program():
    """The strict filter for this host as bytes: `struct sock_filter` entries (8 bytes each, native byte order).

    For the trusted C harness: set PR_SET_NO_NEW_PRIVS, then prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER,
    &(struct sock_fprog){len(program) / 8, program}) before dlopen of the candidate's library. Raises OSError
    where no filter is defined for this architecture (the harness must then refuse to run native candidates).
    """
    machine = platform.machine()
    architecture = ARCHITECTURES.get(machine)
    if architecture is None or machine not in _STRICT_NUMBERS:
        raise OSError(0, f"no strict system-call filter is defined for {machine}")
    return build_strict_program(architecture, _STRICT_NUMBERS[machine])


def no_process_program():
    """Bytes of a filter for Python candidates' workers: the base filter, no exec, no fork, clone only for threads.

    Memory protections are left alone (torch JITs CPU kernels). For Triton on a GPU, whose compiler runs ptxas,
    it cannot be used; the audit guard then refuses process creation instead (audit_guard.py).
    """
    machine = platform.machine()
    architecture = ARCHITECTURES.get(machine)
    if architecture is None or machine not in _STRICT_NUMBERS:
        raise OSError(0, f"no system-call filter is defined for {machine}")
    return build_strict_program(architecture, _STRICT_NUMBERS[machine], write_xor_execute=False)
