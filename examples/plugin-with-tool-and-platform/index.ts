/**
 * An example KernelEvolve plugin. It contributes:
 * - a tool, `estimate_roofline`, that the chat model (or `/call` in the chat) can use;
 * - a platform, `cpu-single-thread`, that wraps the built-in cpu platform and times every kernel
 *   and its reference on one thread (it passes the shared platform conformance suite);
 * - a spec (`vector-scale`) that targets both platforms, and a knowledge-base document.
 *
 * Load it with `kernelevolve --plugin examples/plugin-with-tool-and-platform/index.ts chat`, or list
 * it in kernelevolve.config.json: { "plugins": ["./examples/plugin-with-tool-and-platform/index.ts"] }.
 */
import { tool } from "@langchain/core/tools";
import { z } from "zod";
import { definePlugin, type PluginContext } from "../../core/plugin.js";
import type { Platform } from "../../core/types.js";

/** The roofline bound of a kernel: the lower of compute and memory throughput. */
export const estimateRoofline = tool(
  ({ flops, bytes, peak_gflops, bandwidth_gbs }) => {
    const intensity = flops / bytes;
    const computeMs = (flops / (peak_gflops * 1e9)) * 1e3;
    const memoryMs = (bytes / (bandwidth_gbs * 1e9)) * 1e3;
    const bound = memoryMs >= computeMs ? "memory" : "compute";
    const ridge = peak_gflops / bandwidth_gbs;
    return [
      `arithmetic intensity: ${intensity.toFixed(3)} flop/byte (ridge point ${ridge.toFixed(2)} flop/byte)`,
      `${bound}-bound: at best ${Math.max(computeMs, memoryMs).toFixed(4)} ms (compute ${computeMs.toFixed(4)} ms, memory ${memoryMs.toFixed(4)} ms)`,
    ].join("\n");
  },
  {
    name: "estimate_roofline",
    description: "Estimate the fastest possible time of a kernel from its flops and bytes moved, and whether memory or compute bounds it (roofline model).",
    schema: z.object({
      flops: z.number().positive().describe("Floating-point operations of one call"),
      bytes: z.number().positive().describe("Bytes read plus written by one call"),
      peak_gflops: z.number().positive().describe("Peak compute of the device in GFLOP/s"),
      bandwidth_gbs: z.number().positive().describe("Memory bandwidth of the device in GB/s"),
    }),
  },
);

/** Wraps the built-in cpu platform so every evaluation uses one thread (candidate and reference alike). */
export function createSingleThreadPlatform(context: Pick<PluginContext, "platforms">): Platform {
  const cpu = context.platforms.get("cpu");
  return {
    id: "cpu-single-thread",
    languages: cpu.languages,
    description: "The cpu platform with one thread for the kernel and the reference: measures per-core code quality",
    capabilities: cpu.capabilities,
    availability: () => cpu.availability(),
    async hardwareProfile() {
      const profile = await cpu.hardwareProfile();
      return { ...profile, platform: "cpu-single-thread", cores: 1, device: `${profile.device} (one thread)` };
    },
    capacity: () => cpu.capacity(),
    async evaluate(spec, candidate, options, signal) {
      const result = await cpu.evaluate(spec, candidate, { ...options, threads: 1 }, signal);
      return { ...result, platform: "cpu-single-thread" };
    },
    // The cpu platform's runtime is shared with the rest of the composition, which closes it.
    close: async () => undefined,
  };
}

export default definePlugin({
  specificationVersion: "v1",
  id: "example-single-thread",
  description: "Example plugin: a roofline tool, a single-thread cpu platform, a spec and a document",
  tools: [estimateRoofline],
  platforms: [(context) => createSingleThreadPlatform(context)],
  specs: ["./specs"],
  docs: ["./docs"],
});
