"""GPU timing loops (run in the worker): CUDA events on the current stream, an L2 flush per repetition, a wall-clock cross-check."""
import time

from .platforms.base import CandidateViolation

# Work the events did not see, beyond the calibrated launch-and-synchronize overhead, that counts as hidden.
HIDDEN_FLOOR_MS = 0.02
HIDDEN_FRACTION = 0.25
CALIBRATION_REPETITIONS = 25


class L2Flusher:
    """Writes a buffer twice the size of the L2 cache so every repetition starts with cold caches."""

    def __init__(self, torch, l2_bytes):
        # At least 64 MiB: some drivers report 0 or a per-partition L2 size.
        self.buffer = torch.empty(max(2 * int(l2_bytes or 0), 64 << 20) // 4, dtype=torch.int32, device="cuda")

    def __call__(self):
        self.buffer.fill_(0x5A5A5A5A)


def _median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _timed_repetition(torch, call, flush, start, end, clock):
    """One repetition: flush, device-wide sync, events around the call, device-wide sync; returns (event ms, wall ms)."""
    flush()
    torch.cuda.synchronize()
    began = clock()
    start.record()
    call()
    end.record()
    # Device-wide: work the call queued on other streams is waited for here, so it shows in the wall time.
    torch.cuda.synchronize()
    wall = (clock() - began) * 1000.0
    return start.elapsed_time(end), wall


def calibrate_overhead(torch, flush, clock=time.perf_counter, repetitions=CALIBRATION_REPETITIONS):
    """The median wall-minus-event time of an empty call: launch and synchronize latency, not work."""
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    gaps = []
    for _ in range(repetitions):
        event_ms, wall_ms = _timed_repetition(torch, lambda: None, flush, start, end, clock)
        gaps.append(wall_ms - event_ms)
    return _median(gaps)


def hidden_work_problem(events_ms, walls_ms, overhead_ms):
    """A message when the wall clock shows work the stream's events missed (side streams, host threads); else None."""
    if not events_ms:
        return None
    hidden = _median([wall - event for wall, event in zip(walls_ms, events_ms)]) - overhead_ms
    event = _median(events_ms)
    if hidden > max(HIDDEN_FLOOR_MS, HIDDEN_FRACTION * event):
        return (f"the call's events on the current stream cover {event:.4f} ms but a device-wide synchronize took "
                f"{hidden:.4f} ms longer than launch overhead: work ran outside the current stream (side stream or host thread)")
    return None


def measure_gpu(torch, call, flush, min_time_ms, min_repetitions, max_repetitions, check_hidden=True, clock=time.perf_counter,
                overhead_ms=None):
    """Times single calls with CUDA events until min_time_ms (event time) and min_repetitions; returns event samples (ms).

    Raises CandidateViolation(suspicious_timing) when the wall clock of a device-wide synchronize
    shows work the events did not see (beyond overhead_ms, calibrated here when not given).
    """
    overhead = 0.0
    if check_hidden:
        overhead = calibrate_overhead(torch, flush, clock) if overhead_ms is None else overhead_ms
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    samples, walls = [], []
    total = 0.0
    while len(samples) < max_repetitions and (len(samples) < min_repetitions or total < min_time_ms):
        event_ms, wall_ms = _timed_repetition(torch, call, flush, start, end, clock)
        samples.append(event_ms)
        walls.append(wall_ms)
        total += event_ms
    if check_hidden:
        problem = hidden_work_problem(samples, walls, overhead)
        if problem:
            raise CandidateViolation("suspicious_timing", problem)
    return samples
