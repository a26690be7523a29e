import { appendFileSync } from "node:fs";
import type { CandidateSource, EvaluationResult } from "../../core/protocol.js";
import type { KernelSpec } from "../../core/spec.js";
import type { Platform } from "../../core/types.js";
import { parseSpec } from "../../core/spec-loader.js";
import { sourceHash } from "../../core/source-hash.js";
import { seedFromSource, type SeedKernel } from "../../graphs/evolve/seeds.js";

/** A spec the fake platform accepts. */
export const FAKE_SPEC: KernelSpec = parseSpec(
  {
    id: "fake-scale",
    description: "y = 2x, for graph tests",
    category: "activation",
    dimensions: ["N"],
    inputs: [{ name: "x", dtype: "float32", shape: ["N"] }],
    outputs: [{ name: "y", dtype: "float32", shape: ["N"] }],
    reference: "def reference(x):\n    return 2 * x\n",
    sizes: { small: { N: 8 }, large: { N: 4096 } },
    targets: ["cpu"],
  },
  "fake spec",
);

export const TEMPLATE = `// kernelevolve:template
// param BLOCK: 8, 16, 32, 64, 128, 256
// param UNROLL: 1, 2, 4, 8
// param SCHEDULE: dynamic, static
extern "C" void kernel(const float* x, float* y, long N) { /* BLOCK={{BLOCK}} UNROLL={{UNROLL}} SCHEDULE={{SCHEDULE}} */ }
`;
export const BASELINE = `extern "C" void kernel(const float* x, float* y, long N) { for (long i = 0; i < N; i++) y[i] = 2 * x[i]; }\n`;

export function fakeSeeds(template = TEMPLATE): SeedKernel[] {
  return [seedFromSource("baseline", "cpp", BASELINE), seedFromSource("template", "cpp", template)];
}

/**
 * The landscape: speed-up peaks at BLOCK=64, UNROLL=4, static schedule (2.25x); BLOCK=256 with
 * UNROLL=8 computes wrong results; the baseline is 1.0x.
 */
export function fakeSpeedup(source: string): number | "wrong" {
  const match = /kernelevolve:instance (.*)/.exec(source);
  if (!match) return 1;
  const params = Object.fromEntries(match[1].trim().split(/\s+/).map((pair) => pair.split("=")));
  if (params.BLOCK === "256" && params.UNROLL === "8") return "wrong";
  return 2.15 - 0.25 * Math.abs(Math.log2(Number(params.BLOCK)) - 6) - 0.15 * Math.abs(Math.log2(Number(params.UNROLL)) - 2) + (params.SCHEDULE === "static" ? 0.1 : 0);
}

export interface FakePlatformOptions {
  capacity?: number;
  delayMs?: number;
  timed?: boolean;
  /** Appends one line per finished evaluation (the source hash), to count evaluations across processes. */
  logFile?: string;
}

/** A Platform that "evaluates" by reading the instance parameters, with a delay and bounded capacity. */
export class FakePlatform implements Platform {
  readonly id = "cpu";
  readonly languages = ["cpp" as const];
  readonly description = "fake platform for graph tests";
  readonly capabilities;
  evaluations: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  closed = false;

  constructor(private readonly options: FakePlatformOptions = {}) {
    this.capabilities = { timed: options.timed ?? true, accelerator: false, compiled: true };
  }
  async availability() {
    return { available: true };
  }
  async hardwareProfile() {
    return { platform: "cpu", device: "fake", notes: [] };
  }
  async capacity() {
    return this.options.capacity ?? 2;
  }
  async evaluate(spec: KernelSpec, candidate: CandidateSource, _options?: unknown, signal?: AbortSignal): Promise<EvaluationResult> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.delayMs ?? 1);
        signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        });
      });
      const base = { log: "", platform: this.id, staticFindings: [], trials: [], timings: [], flags: [], durations: {} };
      // An aborted evaluation never finished: like a killed runtime, it leaves no trace.
      if (signal?.aborted) return { ...base, status: "failed", stage: "timing", reason: "timeout", message: "aborted" };
      const hash = sourceHash(candidate.language, candidate.source);
      this.evaluations.push(hash);
      if (this.options.logFile) appendFileSync(this.options.logFile, `${hash}\n`);
      const speedup = fakeSpeedup(candidate.source);
      if (speedup === "wrong") return { ...base, status: "failed", stage: "correctness", reason: "wrong_output", message: `wrong output for ${spec.id}` };
      return { ...base, status: "passed", stage: "done", message: `ok ${speedup.toFixed(2)}x`, speedup };
    } finally {
      this.inFlight--;
    }
  }
  async close() {
    this.closed = true;
  }
}
