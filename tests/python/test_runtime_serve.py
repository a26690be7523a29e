"""`serve` over real pipes: hello, evaluate, bad requests, concurrent requests, events, time_reference, shutdown."""
import json
import os
import queue
import subprocess
import sys
import threading
import time

import pytest

from kernelevolve_runtime.kernelbench.hack_checks import HACK_CHECKS

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "cpu")
PYTHON_ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "python")
FAST = {"minTimeMs": 5, "warmup": 1, "minRepetitions": 3, "maxRepetitions": 100, "timeLimitSeconds": 20,
        # The sandbox fixtures must reach the sandbox; the reward-hack static checks would reject some first.
        "staticChecks": {name: "off" for name in HACK_CHECKS}}


def read(*parts):
    with open(os.path.join(FIXTURES, *parts), encoding="utf-8") as handle:
        return handle.read()


def all_descendants(pid):
    parents = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as handle:
                    parents[int(name)] = int(handle.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        for child, parent in parents.items():
            if parent == current:
                found.append(child)
                stack.append(child)
    return found


class Client:
    """Talks to a `serve` process: writes raw lines, collects responses by id and events."""

    def __init__(self, cache_dir):
        environment = {**os.environ, "PYTHONPATH": PYTHON_ROOT, "KERNELEVOLVE_TEST_SECRET": "hunter2"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kernelevolve_runtime", "serve", "--cache-dir", cache_dir],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment,
        )
        self.lines = queue.Queue()
        self.events = []
        threading.Thread(target=self._pump, daemon=True).start()
        threading.Thread(target=self.process.stderr.read, daemon=True).start()

    def _pump(self):
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def send(self, message):
        self.process.stdin.write((message if isinstance(message, str) else json.dumps(message)) + "\n")
        self.process.stdin.flush()

    def collect(self, ids, timeout=120):
        """Reads until every id has a response; every stdout line must be protocol JSON."""
        responses = {}
        deadline = time.monotonic() + timeout
        while set(ids) - set(responses):
            line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None, "the runtime closed stdout"
            message = json.loads(line)
            if "event" in message:
                self.events.append(message)
            else:
                assert set(message) in ({"id", "ok", "result"}, {"id", "ok", "error"})
                responses[message["id"]] = message
        return responses


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    client = Client(str(tmp_path_factory.mktemp("compile-cache")))
    yield client
    if client.process.poll() is None:
        client.process.kill()
        client.process.wait()


def test_hello_describes_the_runtime(client):
    client.send({"id": "h1", "method": "hello"})
    hello = client.collect(["h1"])["h1"]
    assert hello["ok"] is True
    result = hello["result"]
    assert result["protocol"] == 1 and result["torch"] and result["python"].startswith("3.")
    assert {"id": "cpu", "available": True, "capacity": 1} in result["platforms"]
    assert set(result["sandbox"]) == {"network", "pidNamespace", "dropUser", "syscallFilter", "privateTemp"}


def test_bad_requests_get_bad_request_and_the_runtime_keeps_going(client):
    client.send("{not json")
    client.send({"id": "b1", "method": "evaluate", "params": {"spec": {}, "platform": "cpu", "candidate": {"language": "cpp", "source": "x"},
                                                               "options": {"trails": 3}}})
    client.send({"id": "b2", "method": "hardware_profile", "params": {"platform": "quantum"}})
    client.send({"id": "b3", "method": "evaluate", "params": {"spec": {"id": "broken"}, "platform": "cpu",
                                                               "candidate": {"language": "cpp", "source": "x"}}})
    responses = client.collect([None, "b1", "b2", "b3"])
    assert responses[None]["error"]["code"] == "bad_request"
    assert responses["b1"]["error"]["code"] == "bad_request" and "trails" in responses["b1"]["error"]["message"]
    assert responses["b2"]["error"]["code"] == "bad_request" and "cpu" in responses["b2"]["error"]["message"]
    assert responses["b3"]["error"]["code"] == "bad_spec"


def test_concurrent_requests_are_all_answered_by_id(client):
    spec = json.loads(read("scale-bias.json"))
    probe = json.loads(read("probe.json"))

    def evaluate(request_id, chosen_spec, source, **options):
        candidate = {"language": "cpp", "source": source}
        return {"id": request_id, "method": "evaluate", "params": {"spec": chosen_spec, "platform": "cpu", "candidate": candidate,
                                                                     "options": {**FAST, **options}}}

    client.send(evaluate("e1", spec, read("scale_bias.cpp")))
    client.send(evaluate("e2", spec, read("broken", "wrong_value.cpp"), timing=False))
    # The runtime was started with KERNELEVOLVE_TEST_SECRET in its environment: the candidate must not see it.
    # The compile-time import allowlist would refuse getenv/opendir before the sandbox is reached: switched off here.
    client.send(evaluate("e3", probe, read("broken", "environment_secret.cpp"), timing=False,
                         staticChecks={**FAST["staticChecks"], "symbol_policy": "off"}))
    client.send({"id": "p1", "method": "hardware_profile", "params": {"platform": "cpu"}})
    client.send({"id": "t1", "method": "time_reference", "params": {"spec": spec, "platform": "cpu", "options": {**FAST, "sizes": ["small"]}}})
    responses = client.collect(["e1", "e2", "e3", "p1", "t1"])
    assert responses["e1"]["result"]["status"] == "passed" and responses["e1"]["result"]["speedup"] > 0
    assert responses["e2"]["result"]["reason"] == "wrong_output" and responses["e2"]["result"]["mismatch"]["output"] == "y"
    assert responses["e3"]["result"]["status"] == "passed", responses["e3"]["result"]
    profile = responses["p1"]["result"]
    assert profile["platform"] == "cpu" and profile["cores"] >= 1 and profile["copyBandwidthGBs"] > 0 and "compiler" in profile
    timings = responses["t1"]["result"]["timings"]
    assert [entry["size"] for entry in timings] == ["small"] and timings[0]["reference"]["medianMs"] > 0
    stages = [event["data"]["stage"] for event in client.events if event["id"] == "e1"]
    assert stages == ["static", "compile", "correctness", "timing"]


def test_shutdown_stops_the_runtime_and_every_process_it_started(client):
    descendants = all_descendants(client.process.pid)
    assert descendants, "the zygote runs under the runtime"
    client.send({"id": "s1", "method": "shutdown"})
    assert client.collect(["s1"])["s1"]["ok"] is True
    assert client.process.wait(timeout=30) == 0
    deadline = time.monotonic() + 5
    while any(os.path.exists(f"/proc/{pid}") for pid in descendants) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(os.path.exists(f"/proc/{pid}") for pid in descendants)


SLEEPER = """
import time
import torch

class ModelNew(torch.nn.Module):
    def forward(self, x, bias, alpha):
        time.sleep(60)
        return x * alpha + bias
"""


def test_end_of_input_with_an_evaluation_in_flight_ends_the_runtime_at_once(tmp_path):
    # The client died (kill -9 of the CLI closes the pipe): the runtime must not run the evaluation to its end.
    client = Client(str(tmp_path))
    try:
        spec = json.loads(read("scale-bias.json"))
        client.send({"id": "slow", "method": "evaluate", "params": {"spec": spec, "platform": "cpu",
                     "candidate": {"language": "python", "source": SLEEPER}, "options": {"timing": False, "timeLimitSeconds": 120}}})
        deadline = time.monotonic() + 60
        while not any(event.get("data", {}).get("stage") == "correctness" for event in client.events) and time.monotonic() < deadline:
            try:
                line = client.lines.get(timeout=1)
            except queue.Empty:
                continue
            if line:
                message = json.loads(line)
                if "event" in message:
                    client.events.append(message)
        assert any(event["data"]["stage"] == "correctness" for event in client.events), "the evaluation reached its worker"
        time.sleep(1.0)
        descendants = all_descendants(client.process.pid)
        started = time.monotonic()
        client.process.stdin.close()
        client.process.wait(timeout=30)
        assert time.monotonic() - started < 15, "the runtime waited for the in-flight evaluation"
        deadline = time.monotonic() + 5
        while any(os.path.exists(f"/proc/{pid}") for pid in descendants) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(os.path.exists(f"/proc/{pid}") for pid in descendants)
    finally:
        if client.process.poll() is None:
            client.process.kill()
            client.process.wait()
