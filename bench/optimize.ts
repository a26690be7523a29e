/**
 * Offline optimisation benchmark: the autotune operator on every seed spec with a template, with a
 * fixed small budget. For each spec, the best kernel and the naive baseline are then timed side by
 * side against the PyTorch reference (eager) and torch.compile of the same reference, in the same
 * runtime process per kernel. Also reports the orchestration share of each run's time (graph,
 * database, operator: everything but evaluations in flight).
 *
 *   npm run bench:optimize -- [--budget 16] [--spec ID ...] [--min-time-ms 100] [--threads N] [--all-sizes] [--write] [--json]
 *
 * Speed-ups are timed at each spec's representative sizes (spec.representativeSizes, default the largest:
 * core/spec-sizes.ts), what a user runs; the small sizes exist for correctness, and at a few hundred
 * elements a Python call's overhead is the whole reference time. --all-sizes times every declared size
 * and prints each one's figures too (never averaged into the headline).
 * --write puts the results into docs/benchmarks-optimize.md.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { environmentFromVariables, openComposition, startRun } from "../app/index.js";
import type { EvaluationResult } from "../core/protocol.js";
import type { KernelSpec } from "../core/spec.js";
import { declaredSizes, representativeSizes } from "../core/spec-sizes.js";
import type { Platform } from "../core/types.js";
import type { SeedKernel } from "../graphs/evolve/seeds.js";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    budget: { type: "string", default: "16" },
    spec: { type: "string", multiple: true },
    "min-time-ms": { type: "string", default: "100" },
    threads: { type: "string" },
    "all-sizes": { type: "boolean", default: false },
    write: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
});
const budget = Number(values.budget);
const minTimeMs = Number(values["min-time-ms"]);
const threads = values.threads !== undefined ? Number(values.threads) : undefined;
if (!Number.isInteger(budget) || budget < 3) throw new Error(`--budget expects an integer >= 3, got ${values.budget}`);
if (!(minTimeMs > 0)) throw new Error(`--min-time-ms expects a positive number, got ${values["min-time-ms"]}`);
if (threads !== undefined && !(Number.isInteger(threads) && threads > 0)) throw new Error(`--threads expects a positive integer, got ${values.threads}`);

interface Row {
  spec: string;
  candidates: number;
  failed: number;
  bestId: string;
  bestStrategy: string;
  overEager: number;
  overCompile?: number;
  overBaseline: number;
  searchSpeedup: number;
  wallSeconds: number;
  orchestrationShare: number;
  perSize: { size: string; overEager: number; overCompile?: number; overBaseline: number }[];
  representative: string[];
}

/** The sizes timed: the representative ones, or every declared size with --all-sizes. */
const benchSizes = (spec: KernelSpec) => (values["all-sizes"] ? declaredSizes(spec) : representativeSizes(spec));
/** The sizes the headline figures are taken at. */
const headlineSizes = (spec: KernelSpec) => new Set(representativeSizes(spec));

const geomean = (numbers: number[]) => Math.exp(numbers.reduce((sum, value) => sum + Math.log(value), 0) / numbers.length);

/** Evaluates one kernel with eager and torch.compile reference timings, in one runtime request. */
async function timeSideBySide(platform: Platform, spec: KernelSpec, source: string, language: SeedKernel["language"]): Promise<EvaluationResult> {
  const result = await platform.evaluate(spec, { language, source }, {
    compareTorchCompile: true,
    minTimeMs,
    threads,
    trials: 2,
    sizes: benchSizes(spec),
    // torch.compile compiles the reference inside this request: minutes on a small loaded CPU.
    timeLimitSeconds: 1800,
  });
  if (result.status !== "passed") throw new Error(`${spec.id}: side-by-side timing failed: ${result.message}\n${result.log}`);
  return result;
}

const runsDirectory = mkdtempSync(join(tmpdir(), "kernelevolve-bench-optimize-"));
const context = { ...environmentFromVariables(process.env, process.cwd()), runsDirectory };
const composition = await openComposition({ environment: context, variables: process.env, projectConfig: true, fleet: false });
const platform = composition.platforms.get("cpu");
const availability = await platform.availability();
if (!availability.available) throw new Error(`the cpu platform is not available: ${availability.reason}`);
const profile = await platform.hardwareProfile();
const rows: Row[] = [];
const started = Date.now();
// Other work on the machine skews timings (OpenMP kernels most), so the load is part of the result.
const loadAtStart = loadavg()[0];
try {
  const entries = composition.specs.values().filter((entry) => entry.templates.includes("cpu") && (!values.spec || values.spec.includes(entry.id)));
  if (entries.length === 0) throw new Error(`no spec with a cpu template matches ${values.spec?.join(", ") ?? "(all)"}`);
  for (const entry of entries) {
    const spec = entry.spec;
    const seeds = composition.seedsFor(spec, platform);
    const baseline = seeds.find((seed) => seed.name === "baseline");
    if (!baseline) throw new Error(`${spec.id}: no baseline seed kernel`);
    process.stderr.write(`${spec.id}: optimizing with budget ${budget}...\n`);
    const result = await startRun(composition, {
      spec,
      platform: platform.id,
      operator: "autotune",
      seeds,
      budget: { candidates: budget },
      seed: 0,
      evaluation: { minTimeMs, threads, sizes: benchSizes(spec) },
    });
    if (!result.best) throw new Error(`${spec.id}: no correct kernel in ${result.folder}`);
    process.stderr.write(`${spec.id}: best ${result.best.id} ${result.best.fitness.toFixed(2)}x (${result.best.strategy}); timing side by side...\n`);
    const best = await timeSideBySide(platform, spec, result.best.source, result.best.language);
    const naive = await timeSideBySide(platform, spec, baseline.source, baseline.language);
    const perSize = best.timings.map((timing) => {
      const other = naive.timings.find((item) => item.size === timing.size)!;
      return {
        size: timing.size,
        overEager: timing.speedup,
        overCompile: timing.torchCompile ? timing.torchCompile.medianMs / timing.candidate.medianMs : undefined,
        // Each kernel's speed-up over a reference timed in its own process: the ratio cancels process-to-process drift.
        overBaseline: timing.speedup / other.speedup,
      };
    });
    const headline = perSize.filter((size) => headlineSizes(spec).has(size.size));
    const compiles = headline.map((size) => size.overCompile).filter((value): value is number => value !== undefined);
    rows.push({
      spec: spec.id,
      candidates: result.totals.candidates,
      failed: result.totals.failed,
      bestId: result.best.id,
      bestStrategy: result.best.params ? Object.entries(result.best.params).map(([name, value]) => `${name}=${value}`).join(" ") : (result.best.strategy ?? ""),
      overEager: geomean(headline.map((size) => size.overEager)),
      overCompile: compiles.length === headline.length ? geomean(compiles) : undefined,
      overBaseline: geomean(headline.map((size) => size.overBaseline)),
      searchSpeedup: result.best.fitness,
      wallSeconds: result.timings.wallMs / 1000,
      orchestrationShare: result.timings.orchestrationMs / result.timings.wallMs,
      perSize,
      representative: representativeSizes(spec),
    });
  }
} finally {
  await composition.close();
  rmSync(runsDirectory, { recursive: true, force: true });
}

const totalWall = rows.reduce((sum, row) => sum + row.wallSeconds, 0);
const summary = {
  overEager: geomean(rows.map((row) => row.overEager)),
  overCompile: rows.every((row) => row.overCompile !== undefined) ? geomean(rows.map((row) => row.overCompile!)) : undefined,
  overBaseline: geomean(rows.map((row) => row.overBaseline)),
  minOverEager: Math.min(...rows.map((row) => row.overEager)),
  orchestrationShare: rows.reduce((sum, row) => sum + row.orchestrationShare * row.wallSeconds, 0) / totalWall,
};
const command = `npm run bench:optimize -- ${process.argv.slice(2).filter((argument) => argument !== "--write").join(" ")}`.trim();
const machine = `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; ${profile.device}${profile.compiler ? `; ${profile.compiler}` : ""}; Node ${process.version}; load average ${loadAtStart.toFixed(1)} at start, ${loadavg()[0].toFixed(1)} at end`;
const x = (value: number | undefined) => (value === undefined ? "n/a" : `${value.toFixed(2)}x`);
const verdict = (ok: boolean) => (ok ? "met" : "NOT met");
const markdown = [
  "# Benchmark: offline optimisation (autotune operator)",
  "",
  `Command: \`${command}\` (budget ${budget} candidates per spec, seeds included; min timing ${minTimeMs} ms per size${threads ? `; ${threads} threads` : ""}; ${values["all-sizes"] ? "every declared size timed, headline at the representative sizes" : "timed at each spec's representative sizes"})`,
  "",
  `Machine: ${machine}. Date: ${new Date(started).toISOString().slice(0, 10)}. Total ${(totalWall / 60).toFixed(1)} min of search.`,
  "",
  "Speed-ups of the best kernel found, timed after the search side by side with the PyTorch reference (eager) and",
  "torch.compile of the same reference, at the spec's representative size(s) (default the largest; geometric mean where a spec names several). Baseline:",
  "the naive seed kernel, timed the same way. Orchestration: share of the search's wall time with no evaluation in flight.",
  "",
  "| spec | candidates (failed) | best | over eager | over torch.compile | over baseline | orchestration |",
  "|---|---|---|---|---|---|---|",
  ...rows.map((row) => `| ${row.spec} | ${row.candidates} (${row.failed}) | ${row.bestId} ${row.bestStrategy} | ${x(row.overEager)} | ${x(row.overCompile)} | ${x(row.overBaseline)} | ${(row.orchestrationShare * 100).toFixed(1)}% |`),
  `| **geomean** | | | **${x(summary.overEager)}** | **${x(summary.overCompile)}** | **${x(summary.overBaseline)}** | **${(summary.orchestrationShare * 100).toFixed(1)}%** |`,
  "",
  "Per size (each timed size on its own; `*` marks the representative sizes behind the headline):",
  "",
  "| spec | size | over eager | over torch.compile | over baseline |",
  "|---|---|---|---|---|",
  ...rows.flatMap((row) => row.perSize.map((size) => `| ${row.spec} | ${size.size}${row.representative.includes(size.size) ? " *" : ""} | ${x(size.overEager)} | ${x(size.overCompile)} | ${x(size.overBaseline)} |`)),
  "",
  "Goals:",
  "",
  `- geomean >= 1.5x over eager: ${x(summary.overEager)}, ${verdict(summary.overEager >= 1.5)}`,
  `- geomean >= 1.0x over torch.compile: ${x(summary.overCompile)}, ${verdict((summary.overCompile ?? 0) >= 1.0)}`,
  `- no spec below 1.0x over eager: lowest ${x(summary.minOverEager)}, ${verdict(summary.minOverEager >= 1.0)}`,
  `- orchestration <= 5%: ${(summary.orchestrationShare * 100).toFixed(1)}%, ${verdict(summary.orchestrationShare <= 0.05)}`,
  "",
].join("\n");

if (values.json) process.stdout.write(`${JSON.stringify({ command, machine, budget, rows, summary }, null, 2)}\n`);
else process.stdout.write(markdown);
if (values.write) {
  writeFileSync(join(context.root, "docs", "benchmarks-optimize.md"), markdown);
  process.stderr.write("wrote docs/benchmarks-optimize.md\n");
}
