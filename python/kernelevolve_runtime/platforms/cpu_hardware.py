"""Facts about the host CPU for prompts and rooflines: model, cores, SIMD, caches, memory, measured copy bandwidth."""
import functools
import glob
import os
import re
import time

SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_bf16",
              "avx512_fp16", "avx512_vnni", "amx_tile", "amx_bf16")


def _cpuinfo():
    try:
        with open("/proc/cpuinfo") as handle:
            return handle.read()
    except OSError:
        return ""


@functools.lru_cache(maxsize=1)
def cpu_model_name():
    """The CPU's model name from /proc/cpuinfo ('unknown' elsewhere)."""
    for line in _cpuinfo().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def _simd_flags():
    for line in _cpuinfo().splitlines():
        if line.startswith("flags"):
            present = set(line.split(":", 1)[1].split())
            return [flag for flag in SIMD_FLAGS if flag in present]
    return []


def _caches():
    caches = {}
    for folder in sorted(glob.glob("/sys/devices/system/cpu/cpu0/cache/index*")):
        try:
            with open(os.path.join(folder, "level")) as handle:
                level = handle.read().strip()
            with open(os.path.join(folder, "type")) as handle:
                kind = handle.read().strip()
            with open(os.path.join(folder, "size")) as handle:
                size = handle.read().strip()
        except OSError:
            continue
        suffix = {"Data": "d", "Instruction": "i"}.get(kind, "")
        caches[f"L{level}{suffix}"] = size
    return caches


def _memory_gb():
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / (1024 * 1024), 1)
    except OSError:
        pass
    return None


@functools.lru_cache(maxsize=1)
def copy_bandwidth_gbs(megabytes=256):
    """Measured copy bandwidth (bytes read plus written per second, GB/s) of a numpy copy; measured once per process."""
    import numpy as np

    source = np.ones(megabytes * (1 << 20) // 8, dtype=np.float64)
    destination = np.empty_like(source)
    np.copyto(destination, source)  # first touch of the destination pages is not bandwidth
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        np.copyto(destination, source)
        best = min(best, time.perf_counter() - started)
    return round(2 * source.nbytes / best / 1e9, 2)


@functools.lru_cache(maxsize=1)
def parallel_copy_bandwidth_gbs(megabytes=256):
    """Copy bandwidth with every usable core (torch's parallel copy), bytes read plus written per second (GB/s)."""
    import torch

    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
        source = torch.ones(megabytes * (1 << 20) // 4, dtype=torch.float32)
        destination = torch.empty_like(source)
        destination.copy_(source)  # first touch of the destination pages is not bandwidth
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            destination.copy_(source)
            best = min(best, time.perf_counter() - started)
    finally:
        torch.set_num_threads(previous)
    return round(2 * source.numel() * 4 / best / 1e9, 2)


def last_level_cache_bytes():
    """Size of the largest cache sysfs reports for cpu0 (its last level), 0 when unknown."""
    sizes = []
    for text in _caches().values():
        match = re.fullmatch(r"(\d+)([KMG]?)", text)
        if match:
            sizes.append(int(match.group(1)) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[match.group(2)])
    return max(sizes, default=0)


def cpu_hardware_profile():
    """A HardwareProfile dict for the cpu platform."""
    logical = os.cpu_count() or 1
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = logical
    profile = {
        "platform": "cpu",
        "device": cpu_model_name(),
        "cores": usable,
        "threads": logical,
        "simd": _simd_flags(),
        "caches": _caches(),
        "copyBandwidthGBs": copy_bandwidth_gbs(),
        "notes": [f"{usable} usable of {logical} logical CPUs"],
    }
    memory = _memory_gb()
    if memory is not None:
        profile["memoryGb"] = memory
    return profile
