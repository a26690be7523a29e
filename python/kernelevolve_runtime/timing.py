"""Timing loops (run in the worker) and statistics over samples (computed in the runtime)."""
import math
import time


def measure(call, synchronize, warmup, min_time_ms, min_repetitions, max_repetitions, clock=time.perf_counter):
    """Calls `call` warmup times, then times single calls until min_time_ms and min_repetitions are reached."""
    for _ in range(warmup):
        call()
    synchronize()
    samples = []
    total = 0.0
    while len(samples) < max_repetitions and (len(samples) < min_repetitions or total < min_time_ms):
        start = clock()
        call()
        synchronize()
        elapsed = (clock() - start) * 1000.0
        samples.append(elapsed)
        total += elapsed
    return samples


def statistics(samples):
    """Median, min, p90, mean and standard deviation (ms) of timing samples."""
    if not samples:
        raise ValueError("no timing samples")
    ordered = sorted(float(sample) for sample in samples)
    count = len(ordered)
    middle = count // 2
    median = ordered[middle] if count % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    mean = sum(ordered) / count
    variance = sum((sample - mean) ** 2 for sample in ordered) / count
    p90 = ordered[min(count - 1, int(math.ceil(0.9 * count)) - 1)]
    return {
        "medianMs": median,
        "minMs": ordered[0],
        "p90Ms": p90,
        "meanMs": mean,
        "stdMs": math.sqrt(variance),
        "repetitions": count,
    }


def check_claimed_samples(samples, wall_ms, minimum_repetitions, maximum_repetitions, per_sample_ms=0.05):
    """Compares the worker's claimed samples with the wall clock the runtime measured; returns a problem or None."""
    if not isinstance(samples, list) or not samples:
        return "no timing samples"
    if not all(isinstance(sample, (int, float)) and not isinstance(sample, bool) and math.isfinite(sample) for sample in samples):
        return "timing samples that are not finite numbers"
    if len(samples) > maximum_repetitions or len(samples) < min(minimum_repetitions, maximum_repetitions):
        return f"{len(samples)} samples, outside [{minimum_repetitions}, {maximum_repetitions}]"
    if min(samples) < 0:
        return "negative timing samples"
    claimed = sum(samples)
    if claimed > wall_ms * 1.02 + 1.0:
        return f"claimed {claimed:.1f} ms of calls inside {wall_ms:.1f} ms of wall time"
    # Each sample is one call in a tight loop, so nearly all the wall time must be accounted for; time no
    # sample explains means a patched clock or work moved outside the timed region.
    unexplained = wall_ms - claimed
    if unexplained > max(0.5 * wall_ms, per_sample_ms * len(samples) + 25.0):
        return f"claimed {claimed:.1f} ms of calls but the worker spent {wall_ms:.1f} ms"
    return None


def geometric_mean(values):
    """Geometric mean of positive numbers (None when there are none)."""
    values = [value for value in values if value > 0]
    if not values:
        return None
    return math.exp(sum(math.log(value) for value in values) / len(values))
