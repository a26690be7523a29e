import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { type BenchProblem, type BenchResults } from "../../core/kernelbench-scoring.js";
import { KernelSpecSchema, type KernelSpec } from "../../core/spec.js";
import type { EvaluationOptions } from "../../core/protocol.js";
import type { RuntimeClient } from "../../platforms/index.js";
import type { ImportRecord } from "./import-problems.js";

export interface BenchmarkOptions {
  path: string;
  level: number | null;
  platform: string;
  scale: string;
  /** Folder of ModelNew candidates named like the problems, or null to time references only. */
  candidates: string | null;
  /** Per-problem wall limit for each worker (reference timing and candidate evaluation). */
  timeLimitSeconds: number;
  minTimeMs: number;
  /** Called after each problem, for progress. */
  onProblem?: (problem: BenchProblem, index: number) => void;
  signal?: AbortSignal;
}

/** The failure category the docs report: memory, time, missing module, or a plain error. */
export function classifyFailure(message: string): string {
  if (/ModuleNotFoundError|No module named/.test(message)) return "missing_module";
  if (/memory|MemoryError|bad_alloc|Cannot allocate/i.test(message)) return "memory";
  if (/timeout|longer than|time limit|CPU-time/i.test(message)) return "time";
  return "error";
}

/** The candidate file for a problem: the same file name, else the one starting with `<number>_`. */
export function candidateFor(folder: string, file: string, number: number | null): string | undefined {
  if (existsSync(join(folder, file))) return join(folder, file);
  if (number === null) return undefined;
  const match = readdirSync(folder).find((name) => name.startsWith(`${number}_`) && name.endsWith(".py"));
  return match ? join(folder, match) : undefined;
}

function baseRow(record: ImportRecord): BenchProblem {
  return { number: record.number, file: record.file, status: "import_failed", scaled: false, factors: {}, size: {} };
}

/** Times every imported problem's reference at its bench size and evaluates the matching candidates; returns the results document. */
export async function runBenchmark(records: AsyncIterable<ImportRecord>, client: RuntimeClient, options: BenchmarkOptions): Promise<BenchResults> {
  const problems: BenchProblem[] = [];
  const timing: EvaluationOptions = { sizes: ["bench"], warmup: 1, minRepetitions: 3, maxRepetitions: 50, minTimeMs: options.minTimeMs, timeLimitSeconds: options.timeLimitSeconds };
  for await (const record of records) {
    const started = Date.now();
    const row = baseRow(record);
    let spec: KernelSpec | undefined;
    if (!record.ok) {
      Object.assign(row, { reason: record.reason ?? "unsupported", error: record.error });
    } else {
      const parsed = KernelSpecSchema.safeParse(record.spec);
      if (!parsed.success) {
        Object.assign(row, { reason: "invalid_spec", error: parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ") });
      } else {
        spec = parsed.data;
        const origin = spec.kernelbench;
        Object.assign(row, { specId: spec.id, scaled: origin?.scaled ?? false, factors: origin?.factors ?? {}, size: spec.sizes.bench ?? {} });
      }
    }
    if (spec) {
      try {
        const reference = await client.timeReference(spec, options.platform, timing, { signal: options.signal });
        const entry = reference.timings.find((item) => item.size === "bench");
        Object.assign(row, { status: "ok", referenceMs: entry?.reference.medianMs });
      } catch (error) {
        const message = (error as Error).message;
        Object.assign(row, { status: "reference_failed", reason: classifyFailure(message), error: message.split("\n")[0].slice(0, 300) });
      }
      const candidatePath = options.candidates ? candidateFor(options.candidates, record.file, record.number) : undefined;
      if (row.status === "ok" && candidatePath) {
        const source = readFileSync(candidatePath, "utf8");
        const result = await client.evaluate(spec, options.platform, { language: "python", source, compileFlags: [] }, { ...timing, trials: 3 }, { signal: options.signal });
        row.candidate = {
          file: candidatePath.split("/").at(-1) ?? candidatePath,
          status: result.status,
          reason: result.reason,
          message: result.message,
          speedup: result.speedup,
          medianMs: result.timings[0]?.candidate.medianMs,
        };
      }
    }
    row.seconds = (Date.now() - started) / 1000;
    problems.push(row);
    options.onProblem?.(row, problems.length - 1);
  }
  return {
    kind: "kernelbench-results",
    version: 1,
    createdAt: new Date().toISOString(),
    path: options.path,
    level: options.level,
    platform: options.platform,
    scale: options.scale,
    candidates: options.candidates,
    problems,
  };
}
