/**
 * KernelBench sweep: imports every problem of a level, times each reference at its bench size (full
 * size where it fits this machine, scaled where not) and prints the figures docs/kernelbench.md reports:
 * how many imported, ran at full size, ran scaled, failed (with reasons), and the median reference time.
 *
 *   npm run bench:kernelbench -- --path /path/to/KernelBench [--level 1] [--problems 1-100] [--scale auto]
 *                                [--time-limit 60] [--out kernelbench-results/level1] [--json]
 *
 * A benchmark, not a test: the whole of level 1 takes 10-20 minutes on two busy cores.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { environmentFromVariables } from "../app/index.js";
import { formatResultsCsv, formatResultsMarkdown, scoreResults, type BenchResults } from "../core/kernelbench-scoring.js";
import { importProblems } from "../graphs/kernelbench/import-problems.js";
import { runBenchmark } from "../graphs/kernelbench/run-benchmark.js";
import { RuntimeClient } from "../platforms/runtime-client.js";

/** Counts for the docs: imported, full, scaled, failures by reason, median reference time. */
export function sweepFigures(results: BenchResults) {
  const failures: Record<string, number> = {};
  for (const problem of results.problems.filter((row) => row.status !== "ok")) {
    const key = `${problem.status}:${problem.reason ?? "error"}`;
    failures[key] = (failures[key] ?? 0) + 1;
  }
  const ran = results.problems.filter((row) => row.status === "ok");
  return {
    problems: results.problems.length,
    imported: results.problems.filter((row) => row.status !== "import_failed").length,
    ranFull: ran.filter((row) => !row.scaled).length,
    ranScaled: ran.filter((row) => row.scaled).length,
    failed: failures,
    medianReferenceMs: scoreResults(results).medianReferenceMs,
    totalSeconds: results.problems.reduce((sum, row) => sum + (row.seconds ?? 0), 0),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      path: { type: "string" },
      level: { type: "string", default: "1" },
      problems: { type: "string" },
      scale: { type: "string", default: "auto" },
      "time-limit": { type: "string", default: "60" },
      "min-time-ms": { type: "string", default: "20" },
      out: { type: "string", default: "kernelbench-results/level1" },
      json: { type: "boolean", default: false },
    },
  });
  if (!values.path) throw new Error("--path <KernelBench checkout> is required");
  const context = { ...environmentFromVariables(process.env, process.cwd()), env: process.env };
  const client = new RuntimeClient({ python: context.python, pythonPath: context.pythonPath, cwd: context.root, environment: context.env });
  try {
    const level = Number(values.level);
    const records = importProblems({ python: context.python, pythonPath: context.pythonPath, path: resolve(values.path), level, problems: values.problems, scale: values.scale as string });
    const results = await runBenchmark(records, client, {
      path: resolve(values.path), level, platform: "cpu", scale: values.scale as string, candidates: null,
      timeLimitSeconds: Number(values["time-limit"]), minTimeMs: Number(values["min-time-ms"]),
      onProblem: (row) => process.stderr.write(`${row.file}: ${row.status}${row.referenceMs === undefined ? "" : ` ${row.referenceMs.toFixed(3)} ms`}${row.scaled ? " scaled" : ""}${row.reason ? ` ${row.reason}` : ""}\n`),
    });
    const out = resolve(values.out as string);
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(out, "results.md"), formatResultsMarkdown(results));
    writeFileSync(join(out, "results.csv"), formatResultsCsv(results));
    const figures = sweepFigures(results);
    process.stdout.write(values.json ? `${JSON.stringify(figures)}\n` : `${JSON.stringify(figures, null, 2)}\nresults: ${out}\n`);
  } finally {
    await client.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error) => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  });
}
