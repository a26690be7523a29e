import type { RuntimePlatformDefinition } from "./runtime-platform.js";

/**
 * The `cuda` platform: CUDA C++ kernels with the C ABI of docs/abi-cuda.md, built by nvcc (sm_90a on Hopper) and called
 * through ctypes on device pointers; timed with CUDA events and an L2 flush. Without a GPU the runtime compile-checks
 * candidates and reports correctness as unsupported_platform.
 */
export const CUDA_PLATFORM: RuntimePlatformDefinition = {
  id: "cuda",
  languages: ["cuda"],
  description: "CUDA C++ kernels built with nvcc -O3 for the device's architecture and timed with CUDA events (L2 flushed) against the PyTorch reference on the GPU",
  capabilities: { timed: true, accelerator: true, compiled: true },
};
