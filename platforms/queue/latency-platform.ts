import { createHash } from "node:crypto";
import type { CandidateSource, EvaluationOptions, EvaluationResult, HardwareProfile } from "../../core/protocol.js";
import type { KernelSpec } from "../../core/spec.js";
import type { Platform } from "../../core/types.js";

/**
 * A stand-in for a remote GPU: every evaluation waits (a timer, no CPU) and returns a verdict that
 * depends only on the source, so the fleet's orchestration can be measured and tested without
 * hardware. Markers in the source steer it:
 *   `latency-ms: N`   wait N ms instead of the default
 *   `fleet: wrong`    fail with wrong_output
 *   `fleet: kill-worker`  SIGKILL the process evaluating it (a candidate that takes its worker down)
 * It is not a kernel platform: `evaluate` never compiles or runs the source.
 */
export interface LatencyPlatformOptions {
  id?: string;
  latencyMs?: number;
  capacity?: number;
}

export const LATENCY_PLATFORM_ID = "latency";

function speedupOf(source: string): number {
  const digest = createHash("sha256").update(source).digest();
  return Number((0.5 + digest.readUInt16BE(0) / 65535).toFixed(4)); // 0.5 .. 1.5, fixed per source
}

export function createLatencyPlatform(options: LatencyPlatformOptions = {}): Platform {
  const id = options.id ?? LATENCY_PLATFORM_ID;
  const defaultLatency = options.latencyMs ?? 200;
  return {
    id,
    languages: ["cpp", "cuda", "triton", "python"],
    description: `Waits ${defaultLatency} ms per evaluation without using the CPU (fleet tests and bench:fleet)`,
    capabilities: { timed: true, accelerator: false, compiled: false },
    async availability() {
      return { available: true };
    },
    async hardwareProfile(): Promise<HardwareProfile> {
      return { platform: id, device: `latency stand-in (${defaultLatency} ms per evaluation)`, notes: [] };
    },
    async capacity() {
      return options.capacity ?? 1;
    },
    async evaluate(spec: KernelSpec, candidate: CandidateSource, evaluation: EvaluationOptions = {}): Promise<EvaluationResult> {
      const source = candidate.source;
      if (/fleet:\s*kill-worker/.test(source)) process.kill(process.pid, "SIGKILL");
      const latency = Number(/latency-ms:\s*(\d+)/.exec(source)?.[1] ?? defaultLatency);
      await new Promise((resolve) => setTimeout(resolve, latency));
      const sizes = evaluation.sizes ?? Object.keys(spec.sizes);
      const trials = sizes.map((size, index) => ({ size, seed: (evaluation.seed ?? 0) + index, passed: true, maxAbsError: 0, maxRelError: 0 }));
      const base = { log: "", platform: id, staticFindings: [], flags: [], durations: { total: latency / 1000 } };
      if (/fleet:\s*wrong/.test(source)) {
        return { ...base, status: "failed", stage: "correctness", reason: "wrong_output", message: "values outside tolerance (latency stand-in)", trials: trials.map((trial) => ({ ...trial, passed: false, reason: "wrong_output" as const })), timings: [] };
      }
      const speedup = speedupOf(source);
      const stats = (medianMs: number) => ({ medianMs, minMs: medianMs, p90Ms: medianMs, meanMs: medianMs, stdMs: 0, repetitions: 5 });
      const timings = evaluation.timing === false ? [] : sizes.map((size) => ({ size, candidate: stats(1 / speedup), reference: stats(1), speedup }));
      return { ...base, status: "passed", stage: "done", message: `passed (latency stand-in, ${speedup.toFixed(2)}x)`, trials, timings, speedup: evaluation.timing === false ? undefined : speedup };
    },
    async close() {},
  };
}
