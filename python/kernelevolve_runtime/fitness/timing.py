"""Statistics over timing samples (per-call times of blocks the runtime timed itself, block_timing.py)."""
import math


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


def geometric_mean(values):
    """Geometric mean of positive numbers (None when there are none)."""
    values = [value for value in values if value > 0]
    if not values:
        return None
    return math.exp(sum(math.log(value) for value in values) / len(values))
