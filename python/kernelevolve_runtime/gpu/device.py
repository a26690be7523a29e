"""What the cuda and triton platforms share: device placement, stream-ordered synchronisation, profile, roofline."""
import torch

from .hardware import cuda_device_present, device_copy_bandwidth_gbs, device_properties, gpu_hardware_profile, peak_fp32_tflops
from .roofline import roofline_verdict
from ..platforms.base import Platform


class GpuPlatform(Platform):
    """Base of the GPU platforms: tensors on cuda:0, the default stream; no address-space limit."""

    device_type = "cuda"
    # The CUDA driver reserves far more address space than it uses: RLIMIT_AS would break it (docs/runtime.md).
    uses_address_space_limit = False
    accelerator = True

    def __init__(self, cache_dir=None):
        super().__init__(cache_dir)
        self.has_gpu = cuda_device_present()

    def gpu_notes(self):
        """Platform-specific lines for the hardware profile."""
        return []

    def compiler_version(self):
        """The compiler named in the profile (None where there is none)."""
        return None

    def hardware_profile(self):
        """The device's SMs, memory, L2, compute capability and measured copy bandwidth; without a GPU, a profile that says so."""
        if not self.has_gpu:
            profile = {"platform": self.id, "device": "no CUDA device on this host", "notes": self.gpu_notes()}
            if self.compiler_version():
                profile["compiler"] = self.compiler_version()
            return profile
        return gpu_hardware_profile(self.id, self.compiler_version(), self.gpu_notes())

    def roofline_verdict(self, spec, size, entry):
        """Flags (and for impossible figures rejects) timings above the measured copy bandwidth or the fp32 peak."""
        if not self.has_gpu or not spec.get("cost"):
            return None
        properties = device_properties()
        return roofline_verdict(spec, size, entry, device_copy_bandwidth_gbs(), properties["l2Bytes"], peak_fp32_tflops(properties))

    def worker_environment(self, directory):
        """Passes the runtime's device selection and library path on to the worker (Triton looks for libcuda there)."""
        import os

        return {key: os.environ[key] for key in ("CUDA_VISIBLE_DEVICES", "CUDA_HOME", "TRITON_LIBCUDA_PATH", "LD_LIBRARY_PATH") if key in os.environ}

    # Worker side.

    def worker_setup(self, threads):
        """Sets the thread count and, with a GPU, creates the context on device 0 before the candidate loads."""
        super().worker_setup(threads)
        if self.has_gpu:
            torch.cuda.set_device(0)
            torch.cuda.init()

    def place(self, tensor):
        """Copies a generated CPU tensor to the GPU (contiguous)."""
        if not self.has_gpu:
            return tensor
        return tensor.to("cuda").contiguous()
