import type { RuntimePlatformDefinition } from "./runtime-platform.js";

/**
 * The `triton` platform: a Python module with @triton.jit kernels and a `kernel(...)` launcher (docs/abi-triton.md).
 * On a GPU it is timed like cuda; without one the runtime runs it in Triton's CPU interpreter and marks results
 * `timing-skipped`.
 */
export const TRITON_PLATFORM: RuntimePlatformDefinition = {
  id: "triton",
  languages: ["triton"],
  description: "Triton kernels compiled on first launch and timed with CUDA events (L2 flushed) against the PyTorch reference on the GPU",
  capabilities: { timed: true, accelerator: true, compiled: true },
};
