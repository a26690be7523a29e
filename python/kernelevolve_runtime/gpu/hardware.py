"""Facts about the CUDA device for prompts and rooflines: SMs, memory, L2, compute capability, measured copy bandwidth."""
import functools
import os
import time

# fp32 FMA lanes per SM by compute capability major version (2 FLOP each per cycle); a lead, not a measurement.
FP32_LANES_PER_SM = {7: 64, 8: 128, 9: 128, 10: 128, 12: 128}


def cuda_device_present():
    """Whether torch sees a CUDA device (never initialises a context where there is none)."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


@functools.lru_cache(maxsize=1)
def device_properties():
    """Name, SM count, memory, L2 and compute capability of device 0, as a plain dict."""
    import torch

    properties = torch.cuda.get_device_properties(0)
    return {
        "name": properties.name,
        "smCount": int(properties.multi_processor_count),
        "memoryBytes": int(properties.total_memory),
        "l2Bytes": int(getattr(properties, "L2_cache_size", 0) or 0),
        "major": int(properties.major),
        "minor": int(properties.minor),
        "clockKhz": int(getattr(properties, "clock_rate", 0) or 0),
    }


def cuda_arch_flag(major, minor):
    """nvcc's code-generation flag: the architecture-specific 'a' target on Hopper (sm_90a: wgmma, setmaxnreg), else plain."""
    suffix = "a" if (major, minor) == (9, 0) else ""
    return f"-gencode=arch=compute_{major}{minor}{suffix},code=sm_{major}{minor}{suffix}"


@functools.lru_cache(maxsize=1)
def device_copy_bandwidth_gbs(megabytes=1024, repetitions=10):
    """Measured device-to-device copy bandwidth (bytes read plus written per second, GB/s), best of several copies."""
    import torch

    count = megabytes * (1 << 20) // 4
    source = torch.ones(count, dtype=torch.float32, device="cuda")
    destination = torch.empty_like(source)
    destination.copy_(source)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    best_ms = float("inf")
    for _ in range(repetitions):
        start.record()
        destination.copy_(source)
        end.record()
        end.synchronize()
        best_ms = min(best_ms, start.elapsed_time(end))
    del source, destination
    torch.cuda.empty_cache()
    return round(2 * count * 4 / (best_ms / 1000) / 1e9, 1)


def device_copy_bandwidth_curve(traffic_megabytes=(64, 256, 1024, 4096), repetitions=10):
    """Copy bandwidth at several traffic sizes (bytes read plus written): [{"trafficBytes", "GBs"}], best of
    `repetitions` copies, each after writing a buffer of twice the L2 so that no copy starts from a warm cache.

    A kernel moving 250 MB cannot reach the bandwidth of a 2 GB copy (ramp-up and tail weigh more), so a spec's achieved
    bandwidth is also compared with the copy at its own traffic (gpu_bench_summary.copy_bandwidth_at)."""
    import torch

    flush = torch.empty(max(2 * device_properties()["l2Bytes"], 64 << 20) // 4, dtype=torch.float32, device="cuda")
    curve = []
    for megabytes in traffic_megabytes:
        count = max(1, megabytes * (1 << 20) // 8)  # two tensors of count floats: 8 bytes of traffic per element
        source = torch.ones(count, dtype=torch.float32, device="cuda")
        destination = torch.empty_like(source)
        destination.copy_(source)
        best_ms = float("inf")
        for _ in range(repetitions):
            flush.fill_(1.0)
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            destination.copy_(source)
            end.record()
            end.synchronize()
            best_ms = min(best_ms, start.elapsed_time(end))
        curve.append({"trafficBytes": 8 * count, "GBs": round(8 * count / (best_ms / 1000) / 1e9, 1)})
        del source, destination
    del flush
    torch.cuda.empty_cache()
    return curve


def peak_fp32_tflops(properties):
    """Plain (non-tensor-core) fp32 peak from SMs x lanes x 2 x clock; None where the clock is not reported."""
    lanes = FP32_LANES_PER_SM.get(properties["major"])
    if not lanes or not properties["clockKhz"]:
        return None
    return round(properties["smCount"] * lanes * 2 * properties["clockKhz"] * 1e3 / 1e12, 1)


def gpu_hardware_profile(platform_id, compiler=None, notes=()):
    """A HardwareProfile dict for a GPU platform (measures the copy bandwidth once per process)."""
    import torch

    properties = device_properties()
    started = time.perf_counter()
    bandwidth = device_copy_bandwidth_gbs()
    profile = {
        "platform": platform_id,
        "device": properties["name"],
        "smCount": properties["smCount"],
        "computeCapability": f"{properties['major']}.{properties['minor']}",
        "l2Bytes": properties["l2Bytes"],
        "memoryGb": round(properties["memoryBytes"] / 1e9, 1),
        "copyBandwidthGBs": bandwidth,
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "notes": [
            f"copy bandwidth measured as a 1 GiB device-to-device copy in {time.perf_counter() - started:.2f} s (best of 10)",
            f"torch {torch.__version__}, CUDA {torch.version.cuda}",
            *notes,
        ],
    }
    fp32 = peak_fp32_tflops(properties)
    if fp32:
        profile["peakTflops"] = {"fp32": fp32}
    if compiler:
        profile["compiler"] = compiler
    return profile
