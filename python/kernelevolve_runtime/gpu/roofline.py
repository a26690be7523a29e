"""Roofline verdicts on GPU timings: achieved bandwidth against the measured copy bandwidth, FLOP/s against the fp32 peak."""
from ..contract.shape_expression import evaluate_shape_expression

# Above this fraction of the measured copy bandwidth a timing is flagged and re-verified.
FLAG_FRACTION = 1.05
# Above this fraction, with a working set several times the L2, no cache can explain it: the timing is rejected.
FATAL_FRACTION = 1.5
FATAL_L2_MULTIPLE = 4


def roofline_verdict(spec, size, entry, copy_bandwidth_gbs, l2_bytes, peak_fp32_tflops=None):
    """None, or {"flag": "above-roofline", "fatal": message or None} for one SizeTiming entry."""
    achieved = entry.get("achievedBandwidthGBs")
    fatal = None
    above = False
    if achieved and copy_bandwidth_gbs:
        fraction = achieved / copy_bandwidth_gbs
        if fraction > FLAG_FRACTION:
            above = True
            traffic = evaluate_shape_expression(spec["cost"]["bytes"], spec["sizes"][size])
            # Outputs written into L2 and re-read inputs may legitimately beat DRAM on small sizes; not on large ones.
            if fraction > FATAL_FRACTION and l2_bytes and traffic >= FATAL_L2_MULTIPLE * l2_bytes:
                fatal = (f"size '{size}': {achieved:.0f} GB/s is {fraction:.2f}x the measured copy bandwidth "
                         f"({copy_bandwidth_gbs:.0f} GB/s) with {traffic / 1e6:.0f} MB of traffic, {traffic / l2_bytes:.1f}x the L2: "
                         f"the timing cannot be real")
    tflops = entry.get("achievedTflops")
    if tflops and peak_fp32_tflops and tflops > FLAG_FRACTION * peak_fp32_tflops:
        above = True
    if not above:
        return None
    return {"flag": "above-roofline", "fatal": fatal}
