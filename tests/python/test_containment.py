"""Containment of native and Python candidates: the strict system-call filter of the native stage (a C probe installs
it as the trusted harness does), and the private mounts of confined children. Each check has an unconfined control."""
import os
import platform
import shutil
import subprocess

import pytest

from kernelevolve_runtime.sandbox import seccomp

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "containment")
CPU_SEEDS = os.path.join(ROOT, "seeds", "kernels", "cpu")
X86 = platform.machine() == "x86_64"
needs_compiler = pytest.mark.skipif(not (shutil.which("gcc") and shutil.which("g++")), reason="needs gcc and g++")
needs_filter = pytest.mark.skipif(seccomp.host_architecture() is None or not seccomp.supported(), reason="no seccomp here")

MUST_DENY = ["fork", "vfork", "execve", "clone_process", "memfd_create", "mmap_rwx", "mprotect_exec", "pkey_mprotect_exec",
             "unshare"] + (["raw_syscall_fork", "raw_syscall_execve", "x32_fork"] if X86 else [])
MUST_ALLOW = ["mmap_rw", "mprotect_read", "pthread"]


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    """The compiled probe, an OpenMP kernel library and every cpu seed's baseline as a library."""
    folder = tmp_path_factory.mktemp("seccomp")
    binary = str(folder / "probe")
    subprocess.run(["gcc", "-O1", "-o", binary, os.path.join(FIXTURES, "seccomp_probe.c"), "-ldl", "-lpthread"], check=True)
    kernel = str(folder / "omp_probe.so")
    subprocess.run(["g++", "-O2", "-fopenmp", "-fPIC", "-shared", "-o", kernel, os.path.join(FIXTURES, "omp_probe_kernel.cpp")],
                   check=True)
    seeds = []
    for name in sorted(os.listdir(CPU_SEEDS)):
        source = os.path.join(CPU_SEEDS, name, "baseline.cpp")
        if os.path.isfile(source):
            library = str(folder / f"{name}.so")
            # The cpu platform's flags (platforms/cpu.py BASE_FLAGS).
            subprocess.run(["g++", "-std=c++17", "-O3", "-march=native", "-fopenmp", "-fPIC", "-shared", "-o", library, source],
                           check=True)
            seeds.append(library)
    strict = folder / "strict.bin"
    strict.write_bytes(seccomp.strict_candidate_program())
    empty = folder / "allow.bin"
    empty.write_bytes(bytes.fromhex("060000000000ff7f"))  # one instruction: return ALLOW (the control)
    return {"binary": binary, "kernel": kernel, "seeds": seeds, "strict": str(strict), "allow": str(empty)}


def run_probe(probe, program, *libraries):
    result = subprocess.run([probe["binary"], program, *libraries], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    outcomes = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if parts[0] == "dlopen":
            outcomes[f"dlopen:{os.path.basename(parts[1])}"] = parts[2]
        else:
            outcomes[parts[0]] = " ".join(parts[1:])
    return outcomes


def test_strict_program_is_whole_sock_filter_entries():
    program = seccomp.strict_candidate_program()
    assert len(program) % 8 == 0 and 0 < len(program) // 8 < 4096
    # It is stricter than the worker's filter: it contains every instruction class of the base one and more.
    assert len(program) > len(seccomp.build_program(seccomp.host_architecture()))


@needs_compiler
@needs_filter
def test_strict_filter_blocks_processes_exec_and_writable_code(probe):
    outcomes = run_probe(probe, probe["strict"])
    for name in MUST_DENY:
        assert outcomes[name] == "denied 1", (name, outcomes)
    for name in MUST_ALLOW:
        assert outcomes[name] == "allowed", (name, outcomes)
    if X86:
        # i386 entry: refused by the architecture check (EPERM), or no such entry at all on this kernel (SIGSEGV).
        assert outcomes["int80_fork"] in ("denied 1", "fault 11"), outcomes


@needs_compiler
@needs_filter
def test_without_the_filter_the_probes_succeed(probe):
    """The control: the same probe under an allow-all program does fork, exec and map writable code."""
    outcomes = run_probe(probe, probe["allow"])
    for name in ["fork", "vfork", "clone_process", "memfd_create", "mmap_rwx", "mprotect_exec", "unshare"] + (["raw_syscall_fork"] if X86 else []):
        assert outcomes[name] == "allowed", (name, outcomes)
    # The path does not exist: the kernel got as far as looking it up (ENOENT), where the filter says EPERM.
    assert outcomes["execve"] == "denied 2", outcomes


@needs_compiler
@needs_filter
def test_openmp_kernels_and_seed_libraries_load_and_run_under_the_strict_filter(probe):
    outcomes = run_probe(probe, probe["strict"], probe["kernel"], *probe["seeds"])
    assert probe["seeds"], "no cpu seed was built"
    for library in [probe["kernel"], *probe["seeds"]]:
        assert outcomes[f"dlopen:{os.path.basename(library)}"] == "allowed", outcomes
    # libgomp was loaded by dlopen after the filter and still started a team of 4 (clone with CLONE_THREAD).
    assert outcomes["omp_threads"] == "4", outcomes


# ---------------------------------------------------------------------------------------------------------------
# Mounts: private tmpfs over every world-writable folder, a read-only root, a /proc of the child's own, and a
# minimal view for compiles. Each against a control sandbox with the layers off.

from kernelevolve_runtime.sandbox import mounts  # noqa: E402
from kernelevolve_runtime.sandbox.sandbox import Sandbox, describe_end  # noqa: E402

ROOT_USER = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT_USER, reason="the mount layers need root")
LIMITS = {"fileBytes": 1 << 20, "openFiles": 64, "cpuSeconds": 10, "addressSpaceBytes": 1 << 30}
DEEP = "/var/lib/kernelevolve-containment-test/a/b/c"  # world-writable, deeper than the folder scan looks


def confined_shell(sandbox, script, timeout=30, minimal_view=None, processes=None):
    directory = sandbox.make_directory()
    try:
        limits = dict(LIMITS, processes=processes or sandbox.process_limit(4))
        status, log, timed_out = sandbox.run_command(["/bin/sh", "-c", script], directory, limits, {"PATH": "/usr/bin:/bin"},
                                                     timeout, minimal_view=minimal_view)
        return status, log, timed_out, directory
    finally:
        sandbox.release_directory(directory)


def writable_places():
    return sorted(set(mounts.world_writable_folders()) | {DEEP})


def write_everywhere_script(tag):
    places = " ".join(writable_places())
    return (f'for d in {places} "$PWD"; do if echo leak > "$d/{tag}" 2>/dev/null; then echo "wrote $d"; fi; done\n'
            'echo "pids $(ls /proc | grep -c "^[0-9]")"\n'
            'echo "self $(tr "\\0" " " < /proc/self/cmdline)"\n'
            'for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline 2>/dev/null; echo; done\n'
            'echo "root $(awk \'$5 == "/" {print $6}\' /proc/self/mountinfo | tail -1)"\n')


def survivors(tag):
    found = []
    for place in writable_places():
        for folder, _, files in os.walk(place):
            found += [os.path.join(folder, name) for name in files if name == tag]
    return found


@pytest.fixture
def deep_folder():
    os.makedirs(DEEP, exist_ok=True)
    os.chmod(DEEP, 0o777)
    yield DEEP
    shutil.rmtree("/var/lib/kernelevolve-containment-test", ignore_errors=True)


def test_the_scan_finds_the_usual_world_writable_folders():
    found = mounts.world_writable_folders()
    for path in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/dev/mqueue"):
        if os.path.isdir(path) and os.stat(path).st_mode & 0o002:
            assert path in found, (path, found)


@needs_root
def test_nothing_written_survives_and_the_host_is_hidden(deep_folder):
    tag = f"kernelevolve-leak-{os.getpid()}"
    sandbox = Sandbox()
    try:
        assert sandbox.capabilities()["privateTemp"]
        status, log, _, directory = confined_shell(sandbox, write_everywhere_script(tag))
    finally:
        sandbox.close()
    assert status == {"exitCode": 0}, log
    # Writes to the private tmpfs mounts succeed (programs need scratch space) but vanish with the child...
    assert "wrote /tmp" in log and "wrote /var/tmp" in log
    # ...the folder the scan cannot see is read-only, and nothing is left anywhere on the host.
    assert f"wrote {DEEP}" not in log, log
    assert survivors(tag) == [] and not os.path.exists(directory)
    # Its own /proc: only its own processes (not even the namespace's reaper, which is root's), no command line of
    # the host's (pid 1's here is the machine's init), and a read-only root.
    pids = int(log.split("pids ")[1].split()[0])
    assert pids <= 4, log
    host_init = open("/proc/1/cmdline", "rb").read().replace(b"\0", b" ").decode().strip()
    assert host_init and host_init not in log, log
    assert "self tr" in log and "root ro" in log, log


@needs_root
def test_without_the_mount_layers_files_survive_and_the_host_shows(deep_folder):
    """The control: the same script in a sandbox with private temporaries, read-only root and fresh /proc off."""
    tag = f"kernelevolve-leak-control-{os.getpid()}"
    sandbox = Sandbox(private_temp=False, read_only_root=False, fresh_proc=False)
    try:
        status, log, _, _ = confined_shell(sandbox, write_everywhere_script(tag))
        left = survivors(tag)
    finally:
        sandbox.close()
        for path in survivors(tag):
            os.remove(path)
    assert status == {"exitCode": 0}, log
    assert os.path.join(DEEP, tag) in left and os.path.join("/var/tmp", tag) in left, (left, log)
    assert int(log.split("pids ")[1].split()[0]) > 10, log


@needs_root
@needs_compiler
def test_a_compile_cannot_read_host_files_and_its_log_quotes_none(tmp_path):
    """#include of /etc/passwd (the static scan refuses it first; here the compile runs without the scan)."""
    from kernelevolve_runtime.platforms.cpu import CpuPlatform
    from kernelevolve_runtime.protocol import parse_options

    source = '#include "/etc/passwd"\n#include "/work/main/README.md"\nextern "C" void kernel() {}\n'
    control = subprocess.run(["g++", "-x", "c++", "-fsyntax-only", "-"], input=source, capture_output=True, text=True)
    assert "root:x:0:0" in control.stderr  # unconfined, the compiler quotes the host file
    sandbox = Sandbox()
    try:
        result = CpuPlatform(cache_dir=str(tmp_path)).compile({"language": "cpp", "source": source, "compileFlags": []},
                                                              parse_options({}), sandbox)
    finally:
        sandbox.close()
    assert result.reason == "compile_error"
    assert "root:" not in result.log and "KernelEvolve" not in result.log, result.log
    assert "No such file" in result.log, result.log


def test_the_static_scan_refuses_includes_that_reach_host_files():
    from kernelevolve_runtime.fitness.static_checks import rejection_reason, run_static_checks

    spec = {"constraints": {}}
    for line in ['#include "/etc/passwd"', "#include <../../etc/shadow>", "#define P </root/x>\n#include P",
                 "??=include \"/etc/hosts\"", "#inc\\\nlude \"/etc/group\"", '#include_next <stdio.h>',
                 'asm(".incbin \\"/etc/passwd\\"");', '#embed "/etc/passwd"']:
        findings = run_static_checks(line + '\nextern "C" void kernel() {}\n', "cpp", spec)
        assert rejection_reason(findings) == "forbidden_call", (line, findings)
        assert any(finding["check"] == "include_path" for finding in findings), (line, findings)
    for folder, extension in ((CPU_SEEDS, ".cpp"), (os.path.join(ROOT, "seeds", "kernels", "cuda"), ".cu")):
        for name in sorted(os.listdir(folder)):
            for variant in ("baseline", "template"):
                path = os.path.join(folder, name, variant + extension)
                if os.path.isfile(path):
                    findings = run_static_checks(open(path, encoding="utf-8").read(), "cpp", spec)
                    assert not [f for f in findings if f["check"] == "include_path"], (path, findings)


def test_ends_are_described_by_what_happened():
    assert describe_end({"signal": 6})[1].startswith("aborted (abort() or a failed assertion)")
    assert describe_end({"signal": 24}) == ("timeout", "CPU time limit: the process used up its CPU seconds")
    assert describe_end({}, stopped=True)[1].startswith("stopped")
    assert describe_end({"exitCode": 2}, "sh: 1: Cannot fork")[1].startswith("process limit")
    assert describe_end({"signal": 6}, "libgomp: Thread creation failed: Resource temporarily unavailable")[1].startswith("process limit")
    assert "segmentation fault" in describe_end({"signal": 11})[1]


@needs_root
def test_real_aborts_stops_and_process_limits_are_named():
    sandbox = Sandbox()
    try:
        status, log, _, _ = confined_shell(sandbox, "kill -ABRT $$")
        assert describe_end(status, log)[1].startswith("aborted"), (status, log)
        status, log, timed_out, _ = confined_shell(sandbox, "kill -STOP $$", timeout=3)
        assert timed_out and status == {"stopped": True}
        assert describe_end(status, log, stopped=True)[1].startswith("stopped")
        status, log, _, _ = confined_shell(sandbox, "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 2 & done; wait", processes=4)
        assert describe_end(status, log)[1].startswith("process limit"), (status, log)
    finally:
        sandbox.close()
