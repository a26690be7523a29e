"""KernelEvolve's Python evaluation runtime: sandboxed compile, correctness and timing of candidate kernels."""

RUNTIME_VERSION = "0.1.0"
PROTOCOL_VERSION = 1
