"""The standalone commands (what a GPU host without Node runs): `evaluate` over a folder, exit code 2 on bad input."""
import json
import os
import shutil
import subprocess
import sys

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "cpu")
PYTHON_ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "python")


def run(*arguments):
    environment = {**os.environ, "PYTHONPATH": PYTHON_ROOT}
    return subprocess.run([sys.executable, "-m", "kernelevolve_runtime", *arguments], env=environment, capture_output=True, text=True,
                          timeout=300)


def test_evaluate_command_writes_every_result_and_the_best(tmp_path):
    candidates = tmp_path / "candidates"
    candidates.mkdir()
    shutil.copy(os.path.join(FIXTURES, "scale_bias.cpp"), candidates / "a_correct.cpp")
    shutil.copy(os.path.join(FIXTURES, "broken", "wrong_value.cpp"), candidates / "b_wrong.cpp")
    (candidates / "notes.txt").write_text("not a candidate")
    out = tmp_path / "results.json"
    completed = run("evaluate", "--spec", os.path.join(FIXTURES, "scale-bias.json"), "--platform", "cpu", "--candidates", str(candidates),
                    "--out", str(out), "--sizes", "small", "--cache-dir", str(tmp_path / "cache"),
                    "--options", json.dumps({"minTimeMs": 5, "warmup": 1, "maxRepetitions": 100}))
    assert completed.returncode == 0, completed.stderr[-3000:]
    output = json.loads(out.read_text())
    assert output["spec"] == "scale-bias" and output["platform"] == "cpu"
    assert [entry["candidate"] for entry in output["results"]] == ["a_correct.cpp", "b_wrong.cpp"]
    correct, wrong = (entry["result"] for entry in output["results"])
    assert correct["status"] == "passed" and [timing["size"] for timing in correct["timings"]] == ["small"]
    assert wrong["reason"] == "wrong_output"
    assert output["best"] == {"candidate": "a_correct.cpp", "speedup": correct["speedup"]}
    assert "a_correct.cpp: passed" in completed.stderr and completed.stdout == ""


def test_bad_input_exits_with_code_two_and_a_readable_error(tmp_path):
    spec = json.loads(open(os.path.join(FIXTURES, "scale-bias.json")).read())
    spec["inputs"][0]["dtype"] = "float8"
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    completed = run("evaluate", "--spec", str(tmp_path / "spec.json"), "--candidates", os.path.join(FIXTURES, "scale_bias.cpp"),
                    "--out", str(tmp_path / "out.json"))
    assert completed.returncode == 2 and "inputs.0.dtype" in completed.stderr
    assert not (tmp_path / "out.json").exists()
