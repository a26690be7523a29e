"""The sandbox: no network, no secrets, fork bombs contained, nothing left running; each checked against an unconfined control."""
import json
import os
import platform
import socket
import subprocess
import sys
import time

import pytest

from kernelevolve_runtime.protocol import parse_options
from kernelevolve_runtime.runtime import Runtime
from kernelevolve_runtime.sandbox.sandbox import Sandbox
from kernelevolve_runtime.kernelbench.hack_checks import HACK_CHECKS

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "cpu")
FAST = {"minTimeMs": 5, "warmup": 1, "minRepetitions": 3, "maxRepetitions": 100, "timeLimitSeconds": 20, "timing": False,
        # These fixtures test the runtime stages; the reward-hack static checks and the import allowlist of native
        # libraries (symbol_policy.py, tested in test_symbol_policy.py) would reject some first.
        "staticChecks": {**{name: "off" for name in HACK_CHECKS}, "symbol_policy": "off"}}
ROOT = os.geteuid() == 0


def read(*parts):
    with open(os.path.join(FIXTURES, *parts), encoding="utf-8") as handle:
        return handle.read()


def descendants(pid):
    """Every live process below pid, from /proc (pid namespaces included: they are visible from outside)."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("compile-cache"))


@pytest.fixture(scope="module")
def runtime(cache_dir):
    runtime = Runtime(cache_dir=cache_dir)
    runtime.sandbox.start()
    yield runtime
    runtime.close()


@pytest.fixture(scope="module")
def unconfined(cache_dir):
    """The same runtime without network, pid and user isolation: the controls that prove each fixture can tell."""
    runtime = Runtime(cache_dir=cache_dir, sandbox=Sandbox(isolate_network=False, pid_namespace=False, drop_user=False))
    yield runtime
    runtime.close()


def probe_spec(port):
    spec = json.loads(read("probe.json"))
    spec["scalars"]["port"] = float(port)
    return spec


def evaluate(runtime, spec, name, **options):
    candidate = {"language": "cpp", "source": read("broken", name), "compileFlags": []}
    return runtime.evaluate(spec, "cpu", candidate, parse_options({**FAST, **options}))


def test_hello_reports_active_layers(runtime):
    layers = runtime.hello()["sandbox"]
    assert layers == {"network": layers["network"], "pidNamespace": layers["pidNamespace"], "dropUser": ROOT, "syscallFilter": layers["syscallFilter"],
                      "privateTemp": layers["privateTemp"]}
    if ROOT:
        assert layers["network"] and layers["pidNamespace"] and layers["privateTemp"]
    if platform.machine() in ("x86_64", "aarch64"):
        assert layers["syscallFilter"]


def accepted(listener):
    try:
        connection, _ = listener.accept()
        connection.close()
        return True
    except (BlockingIOError, socket.timeout):
        return False


@pytest.mark.skipif(not ROOT, reason="network namespaces need root or user namespaces; checked where available")
def test_network_connection_does_not_succeed(runtime, unconfined):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(0.3)
    spec = probe_spec(listener.getsockname()[1])
    try:
        confined = evaluate(runtime, spec, "network_connect.cpp")
        assert confined["status"] == "passed", confined["message"]
        assert not accepted(listener)
        control = evaluate(unconfined, spec, "network_connect.cpp")
        assert control["reason"] == "wrong_output" and control["mismatch"]["actual"] == 12345.0
        assert accepted(listener)
    finally:
        listener.close()


@pytest.mark.skipif(platform.machine() not in ("x86_64", "aarch64"), reason="the system-call filter is defined for x86_64 and aarch64")
def test_escape_system_calls_are_denied_by_the_filter(runtime, cache_dir):
    confined = evaluate(runtime, probe_spec(1), "escape_syscalls.cpp")
    assert confined["status"] == "passed", (confined.get("mismatch"), confined["log"][-800:])
    # Control: the same confinement without the filter, where at least ptrace(TRACEME) and the namespace
    # calls succeed (the fixture reports which in y[0] as 5000 + bits).
    unfiltered = Runtime(cache_dir=cache_dir, sandbox=Sandbox(syscall_filter=False))
    try:
        control = evaluate(unfiltered, probe_spec(1), "escape_syscalls.cpp")
        assert control["reason"] == "wrong_output" and control["mismatch"]["firstIndex"] == [0]
        assert int(control["mismatch"]["actual"]) - 5000 & 1, control["mismatch"]
    finally:
        unfiltered.close()


@pytest.mark.skipif(not ROOT, reason="private /tmp and /dev/shm mounts need root")
def test_tmp_and_shm_are_private_to_each_candidate(runtime, cache_dir):
    marker, leaks = "/tmp/kernelevolve-test-host-marker", ["/tmp/kernelevolve-test-candidate-leak", "/dev/shm/kernelevolve-test-candidate-leak"]
    with open(marker, "w") as handle:
        handle.write("host")
    os.chmod(marker, 0o644)
    try:
        confined = evaluate(runtime, probe_spec(1), "shared_temp.cpp")
        assert confined["status"] == "passed", (confined.get("mismatch"), confined["log"][-800:])
        assert not any(os.path.exists(path) for path in leaks), "a candidate's temp files outlived it"
        # Control: the same confinement with the host's /tmp and /dev/shm, where the marker is read and files stay.
        shared = Runtime(cache_dir=cache_dir, sandbox=Sandbox(private_temp=False))
        try:
            control = evaluate(shared, probe_spec(1), "shared_temp.cpp")
            assert control["reason"] == "wrong_output" and control["mismatch"]["actual"] == 6003.0, control.get("mismatch")
            assert all(os.path.exists(path) for path in leaks)
        finally:
            shared.close()
    finally:
        for path in [marker, *leaks]:
            if os.path.exists(path):
                os.unlink(path)


def test_filter_program_denies_the_listed_calls_and_other_architectures():
    from kernelevolve_runtime.sandbox import seccomp

    for name, architecture in seccomp.ARCHITECTURES.items():
        program = seccomp.build_program(architecture)
        assert len(program) % 8 == 0 and len(program) // 8 < 256, name
        missing = [call for call in seccomp.DENIED if call not in architecture["numbers"] and call not in ("iopl", "ioperm", "uselib")]
        assert not missing, (name, missing)
    if seccomp.host_architecture() is not None:
        assert seccomp.supported()


@pytest.mark.skipif(not ROOT, reason="hiding other processes' environments needs a different user (root required)")
def test_secret_in_another_process_environment_never_reaches_the_candidate(runtime, unconfined):
    # A root process started with a secret, like the runtime itself (test_runtime_serve covers the runtime's own).
    holder = subprocess.Popen(["sleep", "60"], env={"KERNELEVOLVE_TEST_SECRET": "hunter2", "PATH": os.environ.get("PATH", "")})
    try:
        confined = evaluate(runtime, probe_spec(1), "environment_secret.cpp")
        assert confined["status"] == "passed", confined.get("mismatch")
        # Control: getenv is empty even unconfined (the zygote's environment is an allowlist), but a
        # candidate running as root reads /proc/<pid>/environ of other processes; the fixture reports it in y[1].
        control = evaluate(unconfined, probe_spec(1), "environment_secret.cpp")
        assert control["reason"] == "wrong_output"
        assert control["mismatch"]["firstIndex"] == [1] and control["mismatch"]["actual"] == 2000.0
    finally:
        holder.kill()
        holder.wait()


def test_fork_bomb_is_contained_and_the_runtime_survives(runtime):
    spec = json.loads(read("scale-bias.json"))
    started = time.monotonic()
    result = evaluate(runtime, spec, "fork_bomb.cpp", timeLimitSeconds=2)
    assert result["reason"] in ("timeout", "crash") and result["stage"] == "correctness"
    assert time.monotonic() - started < 15
    zygote = runtime.sandbox._zygote.pid
    deadline = time.monotonic() + 3
    while descendants(zygote) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert descendants(zygote) == []
    correct = runtime.evaluate(spec, "cpu", {"language": "cpp", "source": read("scale_bias.cpp"), "compileFlags": []}, parse_options(FAST))
    assert correct["status"] == "passed"


def test_a_timed_out_candidate_leaves_no_process_behind(runtime):
    spec = json.loads(read("scale-bias.json"))
    result = evaluate(runtime, spec, "infinite_loop.cpp", timeLimitSeconds=1)
    assert result["reason"] == "timeout"
    assert descendants(runtime.sandbox._zygote.pid) == []


TINY_LAYER_NORM = {
    "id": "tiny-layer-norm", "description": "layer_norm on 7 x 33: torch runs it as a parallel region even this small",
    "category": "normalization", "dimensions": ["R", "D"], "scalars": {"eps": 1e-5},
    "inputs": [{"name": "x", "dtype": "float32", "shape": ["R", "D"]}, {"name": "weight", "dtype": "float32", "shape": ["D"]},
               {"name": "bias", "dtype": "float32", "shape": ["D"]}],
    "outputs": [{"name": "y", "dtype": "float32", "shape": ["R", "D"]}],
    "reference": "import torch\n\ndef reference(x, weight, bias, eps):\n"
                 "    return torch.nn.functional.layer_norm(x, (x.shape[-1],), weight, bias, eps)\n",
    "sizes": {"small": {"R": 7, "D": 33}, "other": {"R": 2, "D": 5}}, "tolerances": {}, "targets": ["cpu"], "constraints": {},
}


def reference_median(runtime):
    options = parse_options({**FAST, "threads": 2, "minTimeMs": 20, "minRepetitions": 50, "maxRepetitions": 400, "sizes": ["small"]})
    return runtime.time_reference(TINY_LAYER_NORM, "cpu", options)["timings"][0]["reference"]["medianMs"]


def in_process_median():
    """The mean per call of a block of calls (the quantity the runtime reports), median over blocks; one thread."""
    import torch

    x, weight, bias = torch.randn(7, 33), torch.randn(33), torch.randn(33)
    samples = []
    for _ in range(20):
        started = time.perf_counter()
        for _ in range(50):
            torch.nn.functional.layer_norm(x, (33,), weight, bias, 1e-5)
        samples.append((time.perf_counter() - started) * 1000 / 50)
    return sorted(samples)[len(samples) // 2]


def middle(values):
    return sorted(values)[len(values) // 2]


def test_tiny_parallel_reference_is_not_inflated_in_the_sandbox(runtime, unconfined):
    # With spinning OpenMP threads, a preempted pool thread stalled every parallel region on a busy machine
    # (8-36 ms for this op instead of 0.01 ms, in most runs but not all). The median of three attempts
    # tolerates one burst of load and still catches the stall.
    # Our own CPU hogs make the contention certain whatever else the machine is doing.
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2 * (os.cpu_count() or 1))]
    try:
        confined = middle([reference_median(runtime) for _ in range(3)])
        control = middle([reference_median(unconfined) for _ in range(3)])
        single = middle([in_process_median() for _ in range(3)])
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert confined <= 20 * control, (confined, control)
    # The runtime reports the mean per call of a timed block, which includes the two-thread region's wake-up stalls on
    # an oversubscribed machine (about 0.5 ms per call with these hogs on two busy cores; the in-process loop runs one
    # thread); the spinning-pool failure this guards against cost 8-36 ms per call.
    assert confined <= 20 * single + 2.0, (confined, single)


def test_closing_the_runtime_stops_the_zygote(unconfined):
    unconfined.sandbox.start()
    zygote = unconfined.sandbox._zygote
    unconfined.close()
    assert zygote.poll() is not None and zygote.pid not in descendants(os.getpid())
