"""Builds the trusted native harness (harness/harness.c plus a call stub generated from the spec's signature) into the compile cache."""
import hashlib
import os
import shutil
import subprocess
import threading
import time

HARNESS_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "harness", "harness.c")

# The C type of each dtype's pointer, as docs/abi-cpu.md states it.
C_TYPES = {"float32": "float", "float64": "double", "int32": "int32_t", "int64": "int64_t", "uint8": "uint8_t", "bool": "uint8_t",
           "float16": "uint16_t", "bfloat16": "uint16_t"}

_lock = threading.Lock()


class HarnessBuildError(Exception):
    """The harness did not compile (an installation problem, not the candidate's fault)."""


def call_stub(spec):
    """C source of call_kernel for the spec's signature: `kernel` called with the exact prototype of the cpu ABI."""
    parameters = [f"const {C_TYPES[tensor['dtype']]}*" for tensor in spec["inputs"]]
    parameters += [f"{C_TYPES[tensor['dtype']]}*" for tensor in spec["outputs"]]
    parameters += ["int64_t"] * len(spec["dimensions"]) + ["double"] * len(spec["scalars"])
    arguments = [f"({parameters[position]})pointers[{position}]" for position in range(len(spec["inputs"]) + len(spec["outputs"]))]
    arguments += [f"dimensions[{position}]" for position in range(len(spec["dimensions"]))]
    arguments += [f"scalars[{position}]" for position in range(len(spec["scalars"]))]
    return "\n".join([
        "#include <stdint.h>",
        f"const int HARNESS_INPUTS = {len(spec['inputs'])}, HARNESS_OUTPUTS = {len(spec['outputs'])};",
        f"const int HARNESS_DIMENSIONS = {len(spec['dimensions'])}, HARNESS_SCALARS = {len(spec['scalars'])};",
        f"typedef void (*kernel_function)({', '.join(parameters) or 'void'});",
        "void call_kernel(void *function, void **pointers, const int64_t *dimensions, const double *scalars) {",
        "    (void)pointers; (void)dimensions; (void)scalars;",
        f"    ((kernel_function)function)({', '.join(arguments)});",
        "}",
        "",
    ])


def c_compiler():
    """The C compiler beside the platform's g++ (gcc, else cc)."""
    return shutil.which("gcc") or shutil.which("cc") or "gcc"


def harness_path(cache_dir, spec, compiler=None):
    """The harness executable for this spec's signature, compiled once per cache folder (about 0.2 s)."""
    compiler = compiler or c_compiler()
    with open(HARNESS_SOURCE, encoding="utf-8") as handle:
        source = handle.read()
    stub = call_stub(spec)
    key = hashlib.sha256("\0".join([source, stub, compiler]).encode("utf-8")).hexdigest()
    folder = os.path.join(cache_dir, "harness", key)
    executable = os.path.join(folder, "harness")
    if os.path.exists(executable):
        return executable
    with _lock:
        if os.path.exists(executable):
            return executable
        os.makedirs(folder, exist_ok=True)
        stub_path = os.path.join(folder, "stub.c")
        with open(stub_path, "w", encoding="utf-8") as handle:
            handle.write(stub)
        temporary = f"{executable}.{os.getpid()}.{time.monotonic_ns()}.tmp"
        command = [compiler, "-std=gnu11", "-O2", "-Wall", "-o", temporary, HARNESS_SOURCE, stub_path, "-ldl"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise HarnessBuildError(f"the native harness did not compile: {result.stderr[-2000:]}")
        os.chmod(temporary, 0o755)
        os.replace(temporary, executable)
    return executable
