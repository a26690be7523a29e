/**
 * A scripted optimisation run through the library API: optimise a spec with the offline autotune
 * operator, print the run's events as they happen, then the result.
 *
 *   npx tsx examples/scripted-run.ts [spec] [budget]
 *
 * In your own project, import from "kernelevolve" instead of "../index.js".
 */
import { optimize } from "../index.js";

const spec = process.argv[2] ?? "row-sum-squares";
const budget = Number(process.argv[3] ?? 6);

const run = optimize({
  spec,
  budget: { candidates: budget },
  // The smallest size and short timing keep the example quick; drop these for real measurements.
  evaluation: { sizes: ["small"], trials: 1, minTimeMs: 10 },
  runsDirectory: process.env.KERNELEVOLVE_RUNS ?? "runs",
  python: process.env.KERNELEVOLVE_PYTHON,
});

for await (const event of run) {
  const where = `[${event.progress.candidates}/${event.progress.budget.candidates}]`;
  if (event.type === "run-start") console.log(`run ${event.runId}: ${event.specId} on ${event.platform} (${event.operator}, ${event.policy})`);
  if (event.type === "candidate-end") console.log(`${where} ${event.candidateId} ${event.status}${event.status === "passed" ? ` ${event.fitness.toFixed(2)}x` : `: ${event.message}`}`);
  if (event.type === "best-improved") console.log(`${where} new best ${event.fitness.toFixed(2)}x (${event.candidateId})`);
}

const result = await run.result;
console.log(`status ${result.status} (${result.reason}); ${result.totals.passed}/${result.totals.candidates} passed`);
console.log(result.best ? `best ${result.best.id}: ${result.best.fitness.toFixed(2)}x, ${result.folder}/${result.best.kernelPath}` : "no passing kernel");
