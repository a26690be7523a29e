"""The runtime facade shared by `serve` and the standalone commands: platforms, sandbox, compile cache, capacities."""
import os
import platform as python_platform
import threading

import torch

from . import PROTOCOL_VERSION, RUNTIME_VERSION
from .fitness.evaluator import Evaluation, time_reference
from .platforms.registry import PLATFORM_CLASSES, create_platform
from .protocol import sanitize
from .fitness.reference_workers import ReferenceWorkers
from .sandbox.sandbox import Sandbox
from .contract.spec import normalize_spec

REPOSITORY_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def default_cache_dir():
    """<repository>/.cache/compile."""
    return os.path.join(REPOSITORY_ROOT, ".cache", "compile")


def _version(module_name):
    try:
        return str(__import__(module_name).__version__)
    except Exception:  # noqa: BLE001 - a missing or broken optional package reports as null
        return None


class Runtime:
    """Evaluates candidates and references on the runtime's platforms, bounded by each platform's capacity."""

    def __init__(self, cache_dir=None, sandbox=None, capacities=None, verification_threads=1):
        # Verdicts run on small tensors: one thread avoids OpenMP wake-ups that cost more than the work
        # (measured 60 ms vs 5 ms per trial on a busy 2-core machine). Timing happens in the workers, not here.
        torch.set_num_threads(verification_threads)
        self.cache_dir = cache_dir or default_cache_dir()
        self.sandbox = sandbox or Sandbox()
        self.capacities = dict(capacities or {})
        self._platforms = {}
        self._slots = {}
        self._lock = threading.Lock()
        # Reference-only timing workers kept warm across candidates of a spec (docs/runtime.md, "Trust boundary").
        self.reference_workers = ReferenceWorkers()

    def platform(self, platform_id, cache_dir=None):
        """The platform instance for an id (one per id and cache folder)."""
        key = (platform_id, cache_dir or self.cache_dir)
        with self._lock:
            if key not in self._platforms:
                self._platforms[key] = create_platform(platform_id, cache_dir=key[1])
            return self._platforms[key]

    def capacity(self, platform_id):
        """How many evaluations of a platform may run at once."""
        return int(self.capacities.get(platform_id) or PLATFORM_CLASSES[platform_id].default_capacity)

    def _slot(self, platform_id):
        with self._lock:
            if platform_id not in self._slots:
                self._slots[platform_id] = threading.BoundedSemaphore(self.capacity(platform_id))
            return self._slots[platform_id]

    def hello(self):
        """The HelloResult: versions, platforms with availability and capacity, active sandbox layers."""
        platforms = []
        for platform_id in sorted(PLATFORM_CLASSES):
            available, reason = self.platform(platform_id).availability()
            entry = {"id": platform_id, "available": available, "capacity": self.capacity(platform_id)}
            if reason:
                entry["reason"] = reason
            platforms.append(entry)
        return {
            "protocol": PROTOCOL_VERSION,
            "runtimeVersion": RUNTIME_VERSION,
            "python": python_platform.python_version(),
            "torch": _version("torch"),
            "triton": _version("triton"),
            "platforms": platforms,
            "sandbox": self.sandbox.capabilities(),
        }

    def evaluate(self, spec, platform_id, candidate, options, cache_dir=None, on_stage=None):
        """Evaluates one candidate; returns an EvaluationResult dict (failures included)."""
        spec = normalize_spec(spec)
        platform = self.platform(platform_id, cache_dir)
        with self._slot(platform_id):
            return sanitize(Evaluation(self.sandbox, platform, spec, candidate, options, on_stage, self.reference_workers).run())

    def time_reference(self, spec, platform_id, options, cache_dir=None):
        """Times the reference per size; returns a TimeReferenceResult dict."""
        spec = normalize_spec(spec)
        platform = self.platform(platform_id, cache_dir)
        with self._slot(platform_id):
            return sanitize(time_reference(self.sandbox, platform, spec, options))

    def hardware_profile(self, platform_id):
        """The platform's HardwareProfile dict."""
        return sanitize(self.platform(platform_id).hardware_profile())

    def close(self):
        """Stops the zygote and with it every confined process."""
        self.reference_workers.close()
        self.sandbox.close()
