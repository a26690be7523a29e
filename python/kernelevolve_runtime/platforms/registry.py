"""The runtime's platform plug-ins by id."""
from .cpu import CpuPlatform
from .cuda import CudaPlatform
from .triton_platform import TritonPlatform

PLATFORM_CLASSES = {"cpu": CpuPlatform, "cuda": CudaPlatform, "triton": TritonPlatform}


def create_platform(platform_id, cache_dir=None):
    """Instantiates a platform by id; an unknown id names the known ones."""
    if platform_id not in PLATFORM_CLASSES:
        raise KeyError(f"unknown platform '{platform_id}'; known platforms: {', '.join(sorted(PLATFORM_CLASSES))}")
    return PLATFORM_CLASSES[platform_id](cache_dir=cache_dir)
