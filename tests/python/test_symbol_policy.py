"""The import allowlist of native candidates (symbol_policy.py): every attack in tests/fixtures/containment/native is
refused naming its symbol or instruction, every cpu seed (baseline and template default) and every cuda seed passes,
and the cpu platform's compile() rejects an attack with reason forbidden_call through the confined compiler."""
import os
import re
import shutil
import subprocess

import pytest

from kernelevolve_runtime.sandbox import symbol_policy
from kernelevolve_runtime.contract.templates import instantiate, parse_template

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NATIVE = os.path.join(ROOT, "tests", "fixtures", "containment", "native")
CPU_SEEDS = os.path.join(ROOT, "seeds", "kernels", "cpu")
CUDA_SEEDS = os.path.join(ROOT, "seeds", "kernels", "cuda")
CPU_FLAGS = ["-std=c++17", "-O3", "-march=native", "-fopenmp", "-fPIC", "-shared"]
CUDA_FLAGS = ["-std=c++17", "-O3", "--shared", "-Xcompiler", "-fPIC", "-Xcompiler", "-O2", "-arch=sm_90"]
NVCC = shutil.which("nvcc") or ("/usr/local/cuda/bin/nvcc" if os.path.exists("/usr/local/cuda/bin/nvcc") else None)
needs_gcc = pytest.mark.skipif(not shutil.which("g++") or not shutil.which("objdump"), reason="needs g++ and objdump")
needs_nvcc = pytest.mark.skipif(NVCC is None, reason="needs nvcc (compiles without a GPU)")


def expectation(path):
    return re.search(r"^// expect: (.+)$", open(path, encoding="utf-8").read(), re.M).group(1).strip()


def build_cpu(source_path, folder):
    library = os.path.join(folder, os.path.basename(source_path) + ".so")
    subprocess.run(["g++", *CPU_FLAGS, "-o", library, source_path], check=True, capture_output=True)
    return library


def build_cuda(source_path, folder):
    stem = os.path.join(folder, os.path.basename(source_path))
    subprocess.run([NVCC, *CUDA_FLAGS, "-c", "-o", stem + ".o", source_path], check=True, capture_output=True)
    subprocess.run([NVCC, *CUDA_FLAGS, "-o", stem + ".so", stem + ".o"], check=True, capture_output=True)
    return stem + ".o", stem + ".so"


def seed_sources(folder, extension):
    """(label, source) of every seed's baseline and template default instance."""
    found = []
    for name in sorted(os.listdir(folder)):
        base = os.path.join(folder, name, f"baseline{extension}")
        if os.path.isfile(base):
            found.append((f"{name}/baseline", open(base, encoding="utf-8").read()))
        template_path = os.path.join(folder, name, f"template{extension}")
        if os.path.isfile(template_path):
            template = parse_template(open(template_path, encoding="utf-8").read())
            found.append((f"{name}/template", instantiate(template, template.default())))
    return found


CPU_ATTACKS = sorted(name for name in os.listdir(NATIVE) if name.endswith(".cpp"))
CUDA_ATTACKS = sorted(name for name in os.listdir(NATIVE) if name.endswith(".cu"))


@needs_gcc
@pytest.mark.parametrize("name", CPU_ATTACKS)
def test_cpu_attack_is_refused_naming_its_symbol(tmp_path, name):
    path = os.path.join(NATIVE, name)
    findings = symbol_policy.check_library(build_cpu(path, str(tmp_path)))
    expected = expectation(path)
    assert any((finding["symbol"] or "").startswith(expected) for finding in findings), (expected, findings)
    assert expected in symbol_policy.describe(findings, limit=len(findings))


@needs_gcc
def test_cpu_seeds_pass(tmp_path):
    sources = seed_sources(CPU_SEEDS, ".cpp")
    assert len(sources) >= 20
    for label, source in sources:
        path = tmp_path / (label.replace("/", "-") + ".cpp")
        path.write_text(source)
        findings = symbol_policy.check_library(build_cpu(str(path), str(tmp_path)))
        assert findings == [], (label, findings)


@needs_nvcc
@pytest.mark.parametrize("name", CUDA_ATTACKS)
def test_cuda_attack_is_refused_naming_its_symbol(tmp_path, name):
    path = os.path.join(NATIVE, name)
    findings = symbol_policy.check_cuda_build(*build_cuda(path, str(tmp_path)))
    assert any(finding["symbol"] == expectation(path) for finding in findings), findings


@needs_nvcc
def test_cuda_seeds_pass(tmp_path):
    sources = [item for item in seed_sources(CUDA_SEEDS, ".cu") if item[0].endswith("/baseline")]
    assert len(sources) >= 13
    for label, source in sources:
        path = tmp_path / (label.replace("/", "-") + ".cu")
        path.write_text(source)
        findings = symbol_policy.check_cuda_build(*build_cuda(str(path), str(tmp_path)))
        assert findings == [], (label, findings)


def test_symbol_verdicts():
    allowed = ["memcpy", "expf", "omp_get_thread_num", "GOMP_parallel", "_Znwm", "_ZdlPvm", "__cxa_throw", "sqrt",
               "_ZSt20__throw_length_errorPKc", "__udivti3", "_ZGVdN8v_expf"]
    for symbol in allowed:
        assert symbol_policy.symbol_verdict(symbol) is None, symbol
    denied = {"PyGILState_Ensure": "Python", "_PyObject_GC_New": "Python", "dlopen": "loader", "dl_iterate_phdr": "loader",
              "_r_debug": "loader", "mmap": "memory", "syscall": "system calls", "fork": "processes", "execve": "processes",
              "system": "processes", "sigaction": "signal", "open": "files", "socket": "files", "getenv": "environment",
              "environ": "environment", "mallopt": "allocator", "madvise": "memory", "__libc_start_main": "internals",
              "_ZNSt6thread15_M_start_threadESt10unique_ptrINS_6_StateESt14default_deleteIS1_EEPFvvE": "threads",
              "gettimeofday": "clocks", "cudaMalloc": "not on the list"}
    for symbol, word in denied.items():
        verdict = symbol_policy.symbol_verdict(symbol)
        assert verdict and word in verdict, (symbol, verdict)
    assert symbol_policy.symbol_verdict("cudaMalloc", cuda=True) is None
    assert "stream" in symbol_policy.symbol_verdict("cudaStreamCreate", cuda=True)


def test_compile_flags_that_reach_outside_are_refused():
    for flag in ["-ldl", "-L/root", "-Wl,--wrap=malloc", "-I/etc", "-include/etc/passwd", "-Xcompiler=-Wl,-z,execstack",
                 "-fplugin=/tmp/x.so", "-B/tmp", "@/tmp/flags", "-isystem/root", "-o/tmp/x"]:
        assert symbol_policy.check_flags([flag]), flag
    assert symbol_policy.check_flags(["-ffast-math", "-funroll-loops", "-DBLOCK=64", "-O2"]) == []


def test_unreadable_files_are_refused(tmp_path):
    path = tmp_path / "kernel.so"
    path.write_bytes(b"not an elf")
    assert "cannot be inspected" in symbol_policy.check_library(str(path))[0]["message"]


@needs_gcc
def test_cpu_compile_rejects_an_attack_with_forbidden_call_and_accepts_a_seed(tmp_path):
    """Through the real confined compile (platforms/cpu.py): the check runs before anything is cached."""
    from kernelevolve_runtime.platforms.cpu import CpuPlatform
    from kernelevolve_runtime.protocol import parse_options
    from kernelevolve_runtime.sandbox.sandbox import Sandbox

    sandbox = Sandbox()
    platform = CpuPlatform(cache_dir=str(tmp_path / "cache"))
    options = parse_options({})
    try:
        attack = open(os.path.join(NATIVE, "ctor_mallopt_macro.cpp"), encoding="utf-8").read()
        result = platform.compile({"language": "cpp", "source": attack, "compileFlags": []}, options, sandbox)
        assert result.reason == "forbidden_call" and "mallopt" in result.message and result.artifact is None, result.message
        assert not any(name.endswith(".so") for _, _, files in os.walk(tmp_path / "cache") for name in files)
        flagged = platform.compile({"language": "cpp", "source": attack, "compileFlags": ["-Wl,--wrap=malloc"]}, options, sandbox)
        assert flagged.reason == "forbidden_call" and "-Wl,--wrap=malloc" in flagged.message
        seed = open(os.path.join(CPU_SEEDS, "gelu", "baseline.cpp"), encoding="utf-8").read()
        honest = platform.compile({"language": "cpp", "source": seed, "compileFlags": []}, options, sandbox)
        assert honest.reason is None and os.path.exists(honest.artifact), honest.message
    finally:
        sandbox.close()


@needs_nvcc
def test_cuda_compile_checks_the_candidate_object_apart_from_the_static_runtime(tmp_path):
    """Through the confined two-step nvcc build (platforms/cuda.py): a seed passes although CUDA's static runtime in
    its .so imports dlopen, pthread_create and files; a host constructor calling dlsym is refused."""
    from kernelevolve_runtime.platforms.cuda import CudaPlatform
    from kernelevolve_runtime.protocol import parse_options
    from kernelevolve_runtime.sandbox.sandbox import Sandbox

    sandbox = Sandbox()
    platform = CudaPlatform(cache_dir=str(tmp_path / "cache"))
    try:
        seed = open(os.path.join(CUDA_SEEDS, "gelu", "baseline.cu"), encoding="utf-8").read()
        honest = platform.compile({"language": "cuda", "source": seed, "compileFlags": []}, parse_options({}), sandbox)
        assert honest.reason is None and os.path.exists(honest.artifact), honest.message
        undefined, _, _ = symbol_policy.read_imports(honest.artifact)
        assert "dlopen" in {symbol.split("@")[0] for symbol in undefined}  # the static runtime's, not the candidate's
        attack = open(os.path.join(NATIVE, "cuda_ctor_dlsym.cu"), encoding="utf-8").read()
        refused = platform.compile({"language": "cuda", "source": attack, "compileFlags": []}, parse_options({}), sandbox)
        assert refused.reason == "forbidden_call" and "'dlsym'" in refused.message, refused.message
    finally:
        sandbox.close()
