import { RuntimePlatform, type RuntimePlatformDefinition, type RuntimePlatformOptions } from "./runtime-platform.js";

/** The `cpu` platform: C++17 kernels with OpenMP, compiled by g++ and called through the C ABI (docs/abi-cpu.md). */
export const CPU_PLATFORM: RuntimePlatformDefinition = {
  id: "cpu",
  languages: ["cpp"],
  description: "C++17/OpenMP kernels compiled with g++ -O3 -march=native and timed against the PyTorch reference on the host CPU",
  capabilities: { timed: true, accelerator: false, compiled: true },
};

/** Builds the cpu platform on a runtime client; its capacity comes from the runtime's hello. */
export function createCpuPlatform(options: RuntimePlatformOptions): RuntimePlatform {
  return new RuntimePlatform(CPU_PLATFORM, options);
}
