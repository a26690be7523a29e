"""Reference-only workers kept warm between evaluations of the same spec (they never load candidate code)."""
import hashlib
import json
import threading

# Warm reference workers kept at once (one per spec, platform and limits); the oldest is closed beyond this.
KEPT = 2


def worker_key(platform, spec, options):
    """What a reference worker depends on: the platform, the spec and the options that shape its process."""
    material = json.dumps([platform.id, spec, options.get("threads"), options["memoryLimitMb"], options["timeLimitSeconds"]],
                          sort_keys=True, default=str)
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


class ReferenceWorkers:
    """A small pool: check a worker out for one evaluation, hand it back if it is still healthy."""

    def __init__(self, kept=KEPT):
        self.kept = kept
        self._idle = []
        self._lock = threading.Lock()

    def check_out(self, key, start, total_limit):
        """A warm worker for `key` (its time budget renewed), or a new one from `start()`."""
        with self._lock:
            for position, (idle_key, run) in enumerate(self._idle):
                if idle_key == key:
                    del self._idle[position]
                    break
            else:
                run = None
        if run is not None and run.renew(total_limit):
            return run
        if run is not None:
            run.close()
        return start()

    def check_in(self, key, run, healthy):
        """Keeps a worker that finished its evaluation cleanly; closes it (or the oldest idle one) otherwise."""
        if not healthy or not run.alive():
            run.close()
            return
        evicted = []
        with self._lock:
            self._idle.append((key, run))
            while len(self._idle) > self.kept:
                evicted.append(self._idle.pop(0)[1])
        for old in evicted:
            old.close()

    def close(self):
        """Closes every idle worker."""
        with self._lock:
            idle, self._idle = self._idle, []
        for _, run in idle:
            run.close()
