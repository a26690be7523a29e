"""Containment of native and Python candidates: the strict system-call filter of the native stage (a C probe installs
it as the trusted harness does), and the private mounts of confined children. Each check has an unconfined control."""
import os
import platform
import shutil
import subprocess

import pytest

from kernelevolve_runtime import seccomp

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
