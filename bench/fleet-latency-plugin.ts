import { definePlugin } from "../core/plugin.js";
import { createLatencyPlatform } from "../platforms/queue/latency-platform.js";

/**
 * The latency stand-in as a plugin: `kernelevolve --plugin bench/fleet-latency-plugin.ts worker
 * --platform latency ...`. KERNELEVOLVE_LATENCY_MS sets the wait per evaluation (default 200).
 */
const latency = Number(process.env.KERNELEVOLVE_LATENCY_MS ?? 200);
export default definePlugin({
  specificationVersion: "v1",
  id: "fleet-latency",
  platforms: [createLatencyPlatform({ latencyMs: Number.isFinite(latency) && latency >= 0 ? latency : 200 })],
});
