import type { RuntimePlatformDefinition } from "./runtime-platform.js";

/**
 * The `triton` platform: a Python module with @triton.jit kernels and a `kernel(...)` launcher (docs/abi-triton.md).
 * On a GPU it is timed like cuda; without one the runtime runs it in Triton's CPU interpreter and marks results
 * `timing-skipped` (use TRITON_CPU_PLATFORM there, whose capabilities say untimed).
 */
export const TRITON_PLATFORM: RuntimePlatformDefinition = {
  id: "triton",
  languages: ["triton"],
  description: "Triton kernels compiled on first launch and timed with CUDA events (L2 flushed) against the PyTorch reference on the GPU",
  capabilities: { timed: true, accelerator: true, compiled: true },
};

/** The same platform as seen on a host without a GPU: correctness in Triton's interpreter, no timings. */
export const TRITON_CPU_PLATFORM: RuntimePlatformDefinition = {
  ...TRITON_PLATFORM,
  description: "Triton kernels run in Triton's CPU interpreter (no GPU): correctness only, timing skipped",
  capabilities: { timed: false, accelerator: false, compiled: false },
};
