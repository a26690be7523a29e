"""Summary of a GPU benchmark: per spec and platform the best autotuned speed-up over eager, bandwidth fraction, geomean; JSON and markdown."""
import math

from ..contract.shape_expression import evaluate_shape_expression


def _gpu_timing(result):
    return next((timing for timing in result.get("timings", []) if timing["size"] == "gpu"), None)


def memory_bound(spec, intensity_limit):
    """Whether the spec's FLOP per byte at its gpu size is below the limit."""
    cost = spec.get("cost") or {}
    if not cost.get("bytes"):
        return False
    dimensions = spec["sizes"]["gpu"]
    flops = evaluate_shape_expression(cost["flops"], dimensions) if cost.get("flops") else 0.0
    return flops / evaluate_shape_expression(cost["bytes"], dimensions) < intensity_limit


def copy_bandwidth_at(curve, traffic_bytes):
    """The copy bandwidth (GB/s) at a traffic size, linear in log(traffic) between measured points, clamped at the ends;
    None without a curve or a positive traffic."""
    points = sorted((point["trafficBytes"], point["GBs"]) for point in curve or [] if point.get("trafficBytes", 0) > 0 and point.get("GBs"))
    if not points or not traffic_bytes or traffic_bytes <= 0:
        return None
    if traffic_bytes <= points[0][0]:
        return points[0][1]
    if traffic_bytes >= points[-1][0]:
        return points[-1][1]
    for (low_bytes, low_gbs), (high_bytes, high_gbs) in zip(points, points[1:]):
        if low_bytes <= traffic_bytes <= high_bytes:
            weight = (math.log(traffic_bytes) - math.log(low_bytes)) / (math.log(high_bytes) - math.log(low_bytes))
            return low_gbs + weight * (high_gbs - low_gbs)
    return None


def _traffic_bytes(spec):
    cost = spec.get("cost") or {}
    if not cost.get("bytes") or "gpu" not in spec.get("sizes", {}):
        return None
    return evaluate_shape_expression(cost["bytes"], spec["sizes"]["gpu"])


def summarize(specs, profile, correctness, autotune, cheats, intensity_limit):
    """The summary dict: rows per (spec, platform), geomeans per platform, correctness and cheat tallies."""
    rows = []
    by_key = {}
    for queue in autotune:
        key = (queue["spec"], queue["platform"])
        row = by_key.setdefault(key, {"spec": queue["spec"], "platform": queue["platform"], "memoryBound": memory_bound(specs[queue["spec"]], intensity_limit)})
        passed = [result for result in queue["results"] if result["status"] == "passed" and _gpu_timing(result)]
        if queue["name"].endswith("/baseline"):
            row["baselineSpeedup"] = _gpu_timing(passed[0])["speedup"] if passed else None
            continue
        row["instancesTried"] = len(queue["results"])
        row["instancesPassed"] = len(passed)
        if passed:
            best = max(passed, key=lambda result: _gpu_timing(result)["speedup"])
            timing = _gpu_timing(best)
            platform_profile = profile.get(queue["platform"]) or {}
            copy = platform_profile.get("copyBandwidthGBs")
            matched = copy_bandwidth_at(platform_profile.get("copyBandwidthCurve"), _traffic_bytes(specs[queue["spec"]]))
            if matched and timing.get("achievedBandwidthGBs"):
                row["copyGBsAtTraffic"] = matched
                row["copyFractionAtTraffic"] = timing["achievedBandwidthGBs"] / matched
            row.update(bestSpeedup=timing["speedup"], bestParams=best["params"], candidateMs=timing["candidateMs"], eagerMs=timing["referenceMs"],
                       achievedGBs=timing.get("achievedBandwidthGBs"), achievedTflops=timing.get("achievedTflops"),
                       copyFraction=(timing["achievedBandwidthGBs"] / copy) if copy and timing.get("achievedBandwidthGBs") else None,
                       flags=best["flags"])
    rows = sorted(by_key.values(), key=lambda row: (row["platform"], row["spec"]))
    geomeans = {}
    for platform_id in sorted({row["platform"] for row in rows}):
        speedups = [row["bestSpeedup"] for row in rows if row["platform"] == platform_id and row.get("bestSpeedup")]
        geomeans[platform_id] = math.exp(sum(math.log(value) for value in speedups) / len(speedups)) if speedups else None
    memory_rows = [row for row in rows if row["memoryBound"] and row.get("copyFraction") is not None]
    return {
        "rows": rows,
        "geomeanSpeedup": geomeans,
        "memoryBoundAt80PercentOfCopy": sum(1 for row in memory_rows if row["copyFraction"] >= 0.8),
        "memoryBoundMeasured": len(memory_rows),
        "memoryBoundAt80PercentOfMatchedCopy": (sum(1 for row in memory_rows if (row.get("copyFractionAtTraffic") or 0) >= 0.8)
                                                if any(row.get("copyFractionAtTraffic") is not None for row in memory_rows) else None),
        "correctness": {"passed": sum(1 for entry in correctness if entry["status"] == "passed"), "total": len(correctness),
                        "failed": [entry["candidate"] for entry in correctness if entry["status"] == "failed"]},
        "cheats": {"rejectedWithExpectedReason": sum(1 for entry in cheats if entry["ok"]), "total": len(cheats),
                   "wrong": [entry["cheat"] for entry in cheats if not entry["ok"]]},
    }


def _number(value, digits=2, suffix=""):
    return "-" if value is None else f"{value:.{digits}f}{suffix}"


def markdown(summary, profile):
    """A markdown report of the summary."""
    lines = ["# GPU benchmark", ""]
    for platform_id, entry in profile.items():
        lines.append(f"- {platform_id}: {entry.get('device')}, {entry.get('smCount')} SMs, L2 {entry.get('l2Bytes')} B, "
                     f"copy {entry.get('copyBandwidthGBs')} GB/s, cc {entry.get('computeCapability')}")
    lines += ["", "| platform | spec | best speed-up vs eager | baseline | GB/s | of copy BW | TFLOP/s | tried/passed | best params | of a copy of the same traffic |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for row in summary["rows"]:
        fraction = _number(100 * row["copyFraction"], 0, "%") if row.get("copyFraction") is not None and row["memoryBound"] else "-"
        lines.append(f"| {row['platform']} | {row['spec']} | {_number(row.get('bestSpeedup'), 2, 'x')} | {_number(row.get('baselineSpeedup'), 2, 'x')} | "
                     f"{_number(row.get('achievedGBs'), 0)} | {fraction} | {_number(row.get('achievedTflops'), 1)} | "
                     f"{row.get('instancesTried', 0)}/{row.get('instancesPassed', 0)} | {row.get('bestParams') or ''} | "
                     f"{_number(100 * row['copyFractionAtTraffic'], 0, '%') if row.get('copyFractionAtTraffic') is not None and row['memoryBound'] else '-'} |")
    lines += ["", f"Geomean of best speed-ups: {', '.join(f'{key} {_number(value, 2, chr(120))}' for key, value in summary['geomeanSpeedup'].items())}",
              f"Memory-bound specs at >= 80% of copy bandwidth: {summary['memoryBoundAt80PercentOfCopy']} of {summary['memoryBoundMeasured']}"
              + (f" ({summary['memoryBoundAt80PercentOfMatchedCopy']} of them against a copy of the same traffic)"
                 if summary.get("memoryBoundAt80PercentOfMatchedCopy") is not None else ""),
              f"Seed correctness: {summary['correctness']['passed']} of {summary['correctness']['total']} passed"
              + (f" (failed: {', '.join(summary['correctness']['failed'])})" if summary["correctness"]["failed"] else ""),
              f"Cheats rejected with the expected reason: {summary['cheats']['rejectedWithExpectedReason']} of {summary['cheats']['total']}"
              + (f" (wrong: {', '.join(summary['cheats']['wrong'])})" if summary["cheats"]["wrong"] else ""), ""]
    return "\n".join(lines)
