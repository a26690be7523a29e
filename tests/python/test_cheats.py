"""Every cheating candidate in tests/fixtures/cheats is rejected with its reason; every honest one in tests/fixtures/honest passes (real runtime)."""
import copy
import functools
import os
import re

import pytest

from kernelevolve_runtime.kernelbench.hack_checks import HACK_CHECKS
from kernelevolve_runtime.kernelbench.importer import import_problem
from kernelevolve_runtime.protocol import parse_options
from kernelevolve_runtime.runtime import Runtime
from kernelevolve_runtime.contract.spec import load_spec
from kernelevolve_runtime.fitness.static_checks import rejection_reason, run_static_checks

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
CHEATS = os.path.join(ROOT, "tests", "fixtures", "cheats")
HONEST = os.path.join(ROOT, "tests", "fixtures", "honest")
PROBLEMS = os.path.join(HONEST, "problems")
LANGUAGES = {".py": "python", ".cpp": "cpp", ".cu": "cuda"}
FAST = {"sizes": ["small"], "trials": 3, "minTimeMs": 20, "warmup": 1, "minRepetitions": 3, "maxRepetitions": 200, "timeLimitSeconds": 60}


class Fixture:
    """A candidate file and what its header promises: the hack (or honest claim), target, options and expected verdict."""

    def __init__(self, folder, name):
        self.name = name
        self.path = os.path.join(folder, name)
        with open(self.path, encoding="utf-8") as handle:
            self.source = handle.read()
        self.language = LANGUAGES[os.path.splitext(name)[1]]
        prefix = "#" if self.language == "python" else "//"
        header = {}
        for line in self.source.splitlines():
            if not line.startswith(prefix):
                break
            key, _, value = line[len(prefix):].strip().partition(":")
            header[key.strip().lower()] = value.strip()
        self.first_line = self.source.splitlines()[0]
        self.header = header
        kind, _, target = header["target"].partition(" ")
        self.spec = _problem_spec(target) if kind == "problem" else load_spec(os.path.join(ROOT, target))
        options = header.get("options", "")
        if "custom-kernels-only" in options:
            self.spec = copy.deepcopy(self.spec)
            self.spec["constraints"]["customKernelsOnly"] = True
        self.checks_off = "static-checks-off" in options
        self.expect = header["expect"].split()


@functools.lru_cache(maxsize=None)
def _imported(name):
    return import_problem(os.path.join(PROBLEMS, f"{name}.py"))


def _problem_spec(name):
    return copy.deepcopy(_imported(name))


def _names(folder):
    return sorted(name for name in os.listdir(folder) if os.path.splitext(name)[1] in LANGUAGES)


CHEAT_NAMES = _names(CHEATS)
HONEST_NAMES = _names(HONEST)


def test_there_are_enough_fixtures_and_each_names_its_hack():
    assert len(CHEAT_NAMES) >= 20 and len(HONEST_NAMES) >= 10
    for name in CHEAT_NAMES:
        assert re.match(r"^(#|//) Hack: \w", Fixture(CHEATS, name).first_line), name
    for name in HONEST_NAMES:
        assert re.match(r"^(#|//) Honest: \w", Fixture(HONEST, name).first_line), name
    assert {Fixture(CHEATS, name).expect[1] for name in CHEAT_NAMES if Fixture(CHEATS, name).expect[0] == "static"} == set(HACK_CHECKS)


@pytest.mark.parametrize("name", [name for name in CHEAT_NAMES if Fixture(CHEATS, name).expect[0] == "static"])
def test_static_cheat_is_found_by_its_check(name):
    fixture = Fixture(CHEATS, name)
    findings = run_static_checks(fixture.source, fixture.language, fixture.spec)
    check = fixture.expect[1]
    assert any(finding["check"] == check and finding["severity"] == "strict" for finding in findings), findings
    assert rejection_reason(findings) in ("static_check", "precision_downgrade")
    # Warn mode records the finding without rejecting; off removes it.
    warned = run_static_checks(fixture.source, fixture.language, fixture.spec, {name: "warn" for name in HACK_CHECKS})
    assert {finding["severity"] for finding in warned} == {"warn"} and rejection_reason(warned) is None
    silenced = run_static_checks(fixture.source, fixture.language, fixture.spec, {check: "off"})
    assert all(finding["check"] != check for finding in silenced)


@pytest.mark.parametrize("name", HONEST_NAMES)
def test_honest_candidate_has_no_findings(name):
    fixture = Fixture(HONEST, name)
    assert run_static_checks(fixture.source, fixture.language, fixture.spec) == []


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    runtime = Runtime(cache_dir=str(tmp_path_factory.mktemp("compile-cache")))
    runtime.sandbox.start()
    yield runtime
    runtime.close()


def _evaluate(runtime, fixture, timing):
    options = dict(FAST, timing=timing)
    if fixture.checks_off:
        options["staticChecks"] = {name: "off" for name in HACK_CHECKS}
    candidate = {"language": fixture.language, "source": fixture.source, "compileFlags": []}
    return runtime.evaluate(fixture.spec, "cpu", candidate, parse_options(options))


@pytest.mark.parametrize("name", CHEAT_NAMES)
def test_cheat_is_rejected_by_the_runtime_with_its_reason(runtime, name):
    fixture = Fixture(CHEATS, name)
    result = _evaluate(runtime, fixture, timing=False)
    assert result["status"] == "failed", result["message"]
    stage, detail = fixture.expect
    if stage == "static":
        assert result["stage"] == "static" and result["reason"] in ("static_check", "precision_downgrade"), result["message"]
        strict = [finding for finding in result["staticFindings"] if finding["severity"] == "strict"]
        assert strict and strict[0]["check"] == detail, result["staticFindings"]
    else:
        assert result["stage"] == "correctness" and result["reason"] == detail, (result["reason"], result["message"])


@pytest.mark.parametrize("name", HONEST_NAMES)
def test_honest_candidate_passes_the_runtime(runtime, name):
    fixture = Fixture(HONEST, name)
    faster = "faster" in fixture.expect
    result = _evaluate(runtime, fixture, timing=faster)
    assert result["status"] == "passed", (result.get("reason"), result["message"], result["log"][-1500:])
    assert result["staticFindings"] == []
    if faster:
        # One fused pass against five separate ones: a margin that survives a busy machine.
        assert result["speedup"] > 1.0, result["timings"]
