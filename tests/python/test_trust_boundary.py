"""The trust boundary of measurement (docs/runtime.md, "Trust boundary"): every fixture in tests/fixtures/cheats/trust
gets the verdict its header promises, on the real runtime with timing on.

Header lines: `Hack:` or `Honest:`, `target: spec <path>`, optional `options: static-checks-off`, and `expect:` one of
  <correctness|timing|any> <reason>[|<reason>...]  rejected at that stage with one of those reasons;
  passes [faster-than N]                           passes (with a re-verified speed-up above N);
  passes same-timing <baseline>                    passes, and its candidate time is not 3x below the honest baseline's;
  passes same-reference <baseline>                 passes, reference time below 2x the baseline run's (the attack made it 2.7x);
  passes no-gain <baseline>                        passes, and is not 3x faster than its honest baseline (a memo hit would be 20x).
"""
import os
import re

import pytest

from kernelevolve_runtime.fitness.candidate_run import CandidateRun, task_states
from kernelevolve_runtime.fitness.evaluator import SET_BUDGET_BYTES, strict_filter_program
from kernelevolve_runtime.kernelbench.hack_checks import HACK_CHECKS
from kernelevolve_runtime.sandbox.native_harness import harness_path
from kernelevolve_runtime.protocol import parse_options
from kernelevolve_runtime.runtime import Runtime
from kernelevolve_runtime.fitness.shared_arena import Layout, SetShape, arena_capacity, fresh_generator
from kernelevolve_runtime.contract.spec import load_spec, normalize_spec

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FOLDER = os.path.join(ROOT, "tests", "fixtures", "cheats", "trust")
LANGUAGES = {".py": "python", ".cpp": "cpp"}
OPTIONS = {"trials": 3, "minTimeMs": 20, "warmup": 1, "minRepetitions": 3, "maxRepetitions": 50, "timeLimitSeconds": 30}


def header(name):
    source = open(os.path.join(FOLDER, name), encoding="utf-8").read()
    prefix = "#" if name.endswith(".py") else "//"
    fields = {}
    for line in source.splitlines():
        if not line.startswith(prefix):
            break
        key, _, value = line[len(prefix):].strip().partition(":")
        fields[key.strip().lower()] = value.strip()
    return source, fields


NAMES = sorted(name for name in os.listdir(FOLDER) if os.path.splitext(name)[1] in LANGUAGES)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    runtime = Runtime(cache_dir=str(tmp_path_factory.mktemp("compile-cache")))
    runtime.sandbox.start()
    yield runtime
    runtime.close()


def evaluate(runtime, name):
    source, fields = header(name)
    spec = load_spec(os.path.join(ROOT, fields["target"].split(" ", 1)[1]))
    options = dict(OPTIONS, sizes=[list(spec["sizes"])[-1]])
    if "static-checks-off" in fields.get("options", ""):
        # Also the import allowlist of native libraries (symbol_policy.py), which would refuse most of these at compile.
        options["staticChecks"] = {**{check: "off" for check in HACK_CHECKS}, "symbol_policy": "off"}
    candidate = {"language": LANGUAGES[os.path.splitext(name)[1]], "source": source, "compileFlags": []}
    return runtime.evaluate(spec, "cpu", candidate, parse_options(options))


def test_every_attack_class_has_two_fixtures_of_different_form_and_each_names_its_hack():
    classes = {}
    for name in NAMES:
        source, fields = header(name)
        assert re.match(r"^(#|//) (Hack|Honest): \w", source.splitlines()[0]), name
        assert "expect" in fields and fields["target"].startswith("spec "), name
        match = re.match(r"cpp_([a-f])_", name)
        if match:
            classes.setdefault(match.group(1), []).append(name)
    assert all(len(classes.get(letter, [])) >= 2 for letter in "abcdef"), classes
    assert {name[:7] for name in NAMES if name.startswith("model_")} >= {"model_a", "model_b", "model_f"}


def _medians(runtime, name, rounds=2):
    """(candidate, reference) medians (ms) of the best of `rounds` evaluations (all must pass); the machine's noise is large."""
    candidate, reference = [], []
    for _ in range(rounds):
        result = evaluate(runtime, name)
        assert result["status"] == "passed", (name, result.get("reason"), result["message"])
        candidate.append(result["timings"][0]["candidate"]["medianMs"])
        reference.append(result["timings"][0]["reference"]["medianMs"])
    return min(candidate), min(reference)


@pytest.mark.parametrize("name", NAMES)
def test_fixture_gets_the_verdict_its_header_promises(runtime, name):
    _, fields = header(name)
    expect = fields["expect"].split()
    if expect[0] != "passes":
        result = evaluate(runtime, name)
        stage, reasons = expect[0], expect[1].split("|")
        assert result["status"] == "failed", (name, result["message"], result["timings"])
        assert result.get("reason") in reasons and stage in ("any", result["stage"]), (result["stage"], result.get("reason"), result["message"])
        return
    if len(expect) == 1:
        result = evaluate(runtime, name)
        assert result["status"] == "passed", (result.get("reason"), result["message"], result["log"][-1500:])
        return
    kind, argument = expect[1], expect[2]
    if kind == "faster-than":
        result = evaluate(runtime, name)
        assert result["status"] == "passed", (result.get("reason"), result["message"])
        assert result["speedup"] > float(argument) and {"reverified", "retimed"} <= set(result["flags"]), (result["speedup"], result["flags"])
        return
    # Against the honest baseline, best of two or three each, so a busy machine's noise hits both alike.
    rounds = 3 if kind in ("same-reference", "same-timing") else 2
    attack_candidate, attack_reference = _medians(runtime, name, rounds)
    honest_candidate, honest_reference = _medians(runtime, argument, rounds)
    if kind == "same-timing":
        # The attack aims to look faster; on a loaded machine only that direction has a margin that holds.
        assert attack_candidate > honest_candidate / 3, (attack_candidate, honest_candidate)
    elif kind == "same-reference":
        assert attack_reference < 2 * honest_reference, (attack_reference, honest_reference)
    elif kind == "no-gain":
        assert attack_candidate > honest_candidate / 3, (attack_candidate, honest_candidate)
    else:
        raise AssertionError(f"unknown expectation {kind}")


FORK_IN_CONSTRUCTOR = r"""
#include <cstdint>
#include <sys/wait.h>
#include <unistd.h>

static bool forked = false;

__attribute__((constructor)) static void try_fork() {
    pid_t child = fork();
    if (child == 0) _exit(0);
    if (child > 0) { forked = true; waitpid(child, nullptr, 0); }
}

extern "C" void kernel(const float* x, const float* bias, float* y, int64_t R, int64_t D, double alpha) {
    for (int64_t i = 0; i < R * D; ++i) y[i] = forked ? 0.0f : x[i] * static_cast<float>(alpha) + bias[i % D];
}
"""


def test_the_harness_installs_the_strict_filter_before_the_candidate_constructors_run(runtime):
    if not runtime.sandbox.capabilities()["syscallFilter"]:
        pytest.skip("this host grants no system-call filter")
    spec = load_spec(os.path.join(ROOT, "tests", "fixtures", "cpu", "scale-bias.json"))
    # The import allowlist (symbol_policy.py) would refuse fork at compile: off, to reach the filter behind it.
    options = parse_options({**OPTIONS, "timing": False,
                             "staticChecks": {**{check: "off" for check in HACK_CHECKS}, "symbol_policy": "off"}})
    result = runtime.evaluate(spec, "cpu", {"language": "cpp", "source": FORK_IN_CONSTRUCTOR, "compileFlags": []}, options)
    # The kernel writes zeros if its constructor could fork: passing means fork was refused before dlopen returned.
    assert result["status"] == "passed", (result.get("reason"), result["message"])


def test_the_harness_is_frozen_between_exchanges_and_timed_by_the_runtime(runtime, tmp_path):
    spec = normalize_spec(load_spec(os.path.join(ROOT, "tests", "fixtures", "cpu", "scale-bias.json")))
    platform = runtime.platform("cpu")
    candidate = {"language": "cpp", "source": header("cpp_honest_scale_bias.cpp")[0], "compileFlags": []}
    options = parse_options(dict(OPTIONS))
    artifact = platform.compile(candidate, options, runtime.sandbox).artifact
    run = CandidateRun(runtime.sandbox, platform, spec, options, "cpp", artifact, arena_bytes=arena_capacity(spec, ["large"], SET_BUDGET_BYTES, SET_BUDGET_BYTES),
                       harness=harness_path(platform.cache_dir, spec), strict_filter=strict_filter_program(runtime.sandbox))
    try:
        assert set(task_states(run.pid).values()) <= set("Tt"), "frozen after start-up"
        layout = Layout(SetShape(spec, "large"), 2, 8)
        run.command(layout.command())
        import torch

        from kernelevolve_runtime.fitness.inputs import generate_input_sets

        inputs = generate_input_sets(spec, "large", 7, 2)
        run.arena.write_inputs(layout, inputs)
        run.arena.fill_canary(layout, fresh_generator())
        elapsed = run.timed("R 8 c")
        assert elapsed > 0 and set(task_states(run.pid).values()) <= set("Tt"), "frozen after a timed block"
        outputs = run.arena.read_outputs(layout)[0]
        for call in range(8):
            expected = inputs[0][call % 2] * 2.0 + inputs[1][call % 2]
            assert torch.allclose(outputs[call], expected), call
        assert run.arena.inputs_changed(layout) is None
        # A seventh call set left out: its canary is still there, and the runtime sees it.
        run.arena.fill_canary(layout, fresh_generator())
        run.timed("R 7 c")
        assert not bool(run.arena.unwritten(layout, 0)[:7].any()) and bool(run.arena.unwritten(layout, 0)[7].all())
    finally:
        run.close()


def test_input_sets_follow_the_spec_and_differ_from_each_other():
    from kernelevolve_runtime.fitness.inputs import generate_input_sets

    spec = normalize_spec({
        "id": "sets", "description": "d", "category": "c", "dimensions": ["N"], "scalars": {},
        "inputs": [{"name": "x", "dtype": "float32", "shape": ["N"], "init": {"kind": "uniform", "low": 2, "high": 3}},
                   {"name": "i", "dtype": "int64", "shape": ["N"], "init": {"kind": "integers", "low": 0, "high": "N"}},
                   {"name": "o", "dtype": "int64", "shape": [4], "init": {"kind": "offsets", "total": "N"}}],
        "outputs": [{"name": "y", "dtype": "float32", "shape": ["N"]}],
        "reference": "def reference(x, i, o):\n    return x\n", "sizes": {"s": {"N": 50}, "t": {"N": 9}}, "tolerances": {}, "targets": ["cpu"],
    })
    x, index, offsets = generate_input_sets(spec, "s", 11, 6)
    assert x.shape == (6, 50) and x.dtype.is_floating_point and bool(((x >= 2) & (x < 3)).all())
    assert bool(((index >= 0) & (index < 50)).all()) and offsets.shape == (6, 4)
    assert all(int(row[0]) == 0 and int(row[-1]) == 50 and bool((row[1:] >= row[:-1]).all()) for row in offsets)
    assert len({tuple(row.tolist()) for row in x}) == 6, "every set is different"
    again = generate_input_sets(spec, "s", 12, 6)[0]
    assert not bool((again == x).all()), "another seed, other values"


def test_reference_workers_are_reused_for_the_same_spec_and_dropped_after_a_failure():
    from kernelevolve_runtime.fitness.reference_workers import ReferenceWorkers

    class Run:
        def __init__(self):
            self.closed = False
            self.renewed = None

        def alive(self):
            return not self.closed

        def renew(self, total):
            self.renewed = total
            return not self.closed

        def close(self):
            self.closed = True

    pool = ReferenceWorkers(kept=1)
    first = pool.check_out("a", Run, 10.0)
    pool.check_in("a", first, healthy=True)
    assert pool.check_out("a", Run, 20.0) is first and first.renewed == 20.0
    pool.check_in("a", first, healthy=False)
    assert first.closed and pool.check_out("a", Run, 5.0) is not first
    kept, other = Run(), Run()
    pool.check_in("a", kept, healthy=True)
    pool.check_in("b", other, healthy=True)
    assert kept.closed and not other.closed, "only one kept: the oldest is closed"
    pool.close()
    assert other.closed


def test_the_reference_worker_stays_warm_between_candidates_of_a_spec(runtime):
    pids = []
    for _ in range(2):
        assert evaluate(runtime, "cpp_honest_scale_bias.cpp")["status"] == "passed"
        pids.append([run.pid for _, run in runtime.reference_workers._idle])
    # Earlier tests may have left a warm worker for another spec too; none is replaced by the second evaluation.
    assert pids[0] and pids[0] == pids[1], pids
    assert all(set(task_states(pid).values()) <= set("Tt") for pid in pids[0]), "kept frozen"
