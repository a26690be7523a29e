"""The audit guard of Python candidates (audit_guard.py): every attack fixture in tests/fixtures/containment/python is
refused with reason forbidden_call and the event its header names (or reported by tampered()), honest Triton seeds and
KernelBench ModelNew fixtures run correctly under it with no violation, and without the guard the attacks succeed."""
import json
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "containment", "python")
DRIVER = os.path.join(ROOT, "tests", "fixtures", "containment", "guard_driver.py")
HONEST = os.path.join(ROOT, "tests", "fixtures", "honest")
SEEDS = os.path.join(ROOT, "seeds", "kernels", "triton")
ATTACKS = sorted(name for name in os.listdir(FIXTURES) if name.endswith(".py"))
HONEST_MODELS = sorted(name for name in os.listdir(HONEST) if name.endswith(".py")
                       and "# target: problem" in open(os.path.join(HONEST, name), encoding="utf-8").read())
HONEST_SEEDS = ["gelu", "layernorm", "row-softmax", "embedding-bag-sum"]

pytest.importorskip("triton")


def drive(folder, paths, guarded=True):
    environment = {**os.environ, "TRITON_INTERPRET": "1", "TMPDIR": str(folder), "TRITON_CACHE_DIR": str(folder / "triton-cache")}
    command = [sys.executable, DRIVER, str(folder), *([] if guarded else ["--off"]), *paths]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, env=environment, cwd=str(folder))
    reports = {}
    for line in result.stdout.splitlines():
        if line.startswith("{"):
            report = json.loads(line)
            reports[os.path.join(ROOT, report["candidate"])] = report
    assert len(reports) == len(paths), result.stdout[-3000:] + result.stderr[-3000:]
    return reports


def expectation(name):
    header = open(os.path.join(FIXTURES, name), encoding="utf-8").read()
    return re.search(r"^# expect: (.+)$", header, re.M).group(1).split()


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    return drive(tmp_path_factory.mktemp("guarded"), [os.path.join(FIXTURES, name) for name in ATTACKS])


@pytest.fixture(scope="module")
def honest(tmp_path_factory):
    paths = [os.path.join(HONEST, name) for name in HONEST_MODELS] + [os.path.join(SEEDS, seed, "baseline.py") for seed in HONEST_SEEDS]
    return drive(tmp_path_factory.mktemp("honest"), paths)


def test_there_are_attacks_of_both_forms():
    assert sum(name.startswith("kb_") for name in ATTACKS) >= 8 and sum(name.startswith("triton_") for name in ATTACKS) >= 6


@pytest.mark.parametrize("name", ATTACKS)
def test_attack_is_refused_with_its_reason(guarded, name):
    report, expected = guarded[os.path.join(FIXTURES, name)], expectation(name)
    if expected[0] == "tampered":
        # Monkey-patching raises no audit event: the identity check names every replaced object.
        assert set(expected[1:]) <= set(report["tampered"]), report
        return
    assert report["violations"], report
    first = report["violations"][0]
    assert first["reason"] == "forbidden_call" and first["event"] == expected[0], report
    assert first["message"].startswith(expected[0]), report


def test_a_swallowed_refusal_is_still_recorded(guarded):
    """kb_pythonapi catches the exception and returns a correct result: the violation stays on record."""
    report = guarded[os.path.join(FIXTURES, "kb_pythonapi.py")]
    assert report["correct"] and report["error"] is None and report["violations"], report


def test_the_refused_write_left_no_file(guarded):
    assert not os.path.exists("/var/tmp/kernelevolve-guard-leak") and not os.path.exists("/var/tmp/kernelevolve-guard-leak-2")


@pytest.mark.parametrize("path", [os.path.join(HONEST, name) for name in HONEST_MODELS]
                         + [os.path.join(SEEDS, seed, "baseline.py") for seed in HONEST_SEEDS])
def test_honest_candidates_run_clean_under_the_guard(honest, path):
    report = honest[path]
    assert report["violations"] == [] and report["tampered"] == [] and report["error"] is None and report["correct"], report


def test_without_the_guard_the_attacks_succeed(tmp_path):
    """The control: the same process and platform, no guard; the write lands, the shell and the socket work."""
    names = ["kb_open_write.py", "kb_builtins_os_system.py", "triton_socket.py", "kb_gc_objects.py"]
    try:
        reports = drive(tmp_path, [os.path.join(FIXTURES, name) for name in names], guarded=False)
        assert os.path.exists("/var/tmp/kernelevolve-guard-leak")
    finally:
        if os.path.exists("/var/tmp/kernelevolve-guard-leak"):
            os.remove("/var/tmp/kernelevolve-guard-leak")
    for name in names:
        report = reports[os.path.join(FIXTURES, name)]
        assert report["error"] is None and report["correct"], report


def test_violations_reach_the_report_descriptor_before_the_exception(tmp_path):
    """Without torch: a tiny candidate file catches every refusal; the supervisor's pipe still gets each one, and
    the hook cannot be installed twice or removed."""
    candidate = tmp_path / "candidate.py"
    candidate.write_text("import sys\n"
                         "def attack():\n"
                         "    for action in (lambda: sys.modules['ctypes'].CDLL(None), lambda: __import__('pty'),\n"
                         "                   lambda: open('/var/tmp/kernelevolve-guard-fd', 'w')):\n"
                         "        try:\n"
                         "            action()\n"
                         "        except Exception as error:\n"
                         "            print(type(error).__name__, isinstance(error, ImportError))\n")
    script = f"""
import os, sys, ctypes, importlib.util
sys.path.insert(0, {os.path.join(ROOT, 'python')!r})
from kernelevolve_runtime.sandbox import audit_guard
read_end, write_end = os.pipe()
guard = audit_guard.install({{"private_dir": {str(tmp_path)!r}, "candidate_files": [{str(candidate)!r}], "report_fd": write_end}})
spec = importlib.util.spec_from_file_location("candidate", {str(candidate)!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
module.attack()
try:
    audit_guard.install({{}})
except RuntimeError as error:
    print("second install refused")
os.close(write_end)
print(os.read(read_end, 1 << 16).decode().count("forbidden_call"), len(guard.violations()))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=str(tmp_path))
    lines = result.stdout.splitlines()
    assert lines[:3] == ["ForbiddenCall False", "ForbiddenImport True", "ForbiddenCall False"], result.stdout + result.stderr
    assert "second install refused" in lines and lines[-1] == "3 3", result.stdout + result.stderr
    assert not os.path.exists("/var/tmp/kernelevolve-guard-fd")
