/**
 * Evaluation overhead benchmark: how long one small candidate takes through the cpu platform, with a
 * cold compile cache (a fresh folder per run) and a warm one, split into compile, correctness,
 * timing, the runtime's own overhead and the Node-side round trip. Medians over --runs runs.
 *
 *   npm run bench:eval -- [--runs 5] [--min-time-ms 20] [--json]
 *
 * Timing uses a short minTimeMs (20 ms by default, the platform default is 200 ms) because this
 * measures the evaluation machinery, not the kernels.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { environmentFromVariables, seedKernelPath } from "../app/index.js";
import { loadSpecFile } from "../core/spec-loader.js";
import { smallestSize, type KernelSpec } from "../core/spec.js";
import type { EvaluationResult } from "../core/protocol.js";
import { RuntimeClient } from "../platforms/runtime-client.js";

interface Case {
  name: string;
  spec: KernelSpec;
  source: string;
}

interface Sample {
  wall: number;
  compile: number;
  correctness: number;
  timing: number;
  runtimeOverhead: number;
  roundTrip: number;
  total: number;
}

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { runs: { type: "string", default: "5" }, "min-time-ms": { type: "string", default: "20" }, json: { type: "boolean", default: false } },
});
const runs = Number(values.runs);
const minTimeMs = Number(values["min-time-ms"]);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs expects a positive integer, got ${values.runs}`);
if (!(minTimeMs > 0)) throw new Error(`--min-time-ms expects a positive number, got ${values["min-time-ms"]}`);

const context = { ...environmentFromVariables(process.env, process.cwd()), env: process.env };
const root = context.root;

function seedCase(id: string): Case {
  const spec = loadSpecFile(join(root, "seeds", "specs", `${id}.yaml`));
  const path = seedKernelPath(root, "cpu", id);
  if (!path) throw new Error(`no cpu baseline for ${id}`);
  return { name: `${id} baseline`, spec, source: readFileSync(path, "utf8") };
}

const cases: Case[] = [
  {
    name: "vector-add (trivial)",
    spec: loadSpecFile(join(root, "tests", "platforms", "fixtures", "specs", "vector-add.yaml")),
    source: readFileSync(join(root, "tests", "platforms", "fixtures", "kernels", "vector-add-correct.cpp"), "utf8"),
  },
  ...["layernorm", "row-softmax", "gelu", "embedding-bag-sum"].map(seedCase),
];

function median(numbers: number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function sampleOf(result: EvaluationResult, wallSeconds: number): Sample {
  const d = result.durations;
  const total = d.total ?? wallSeconds;
  const stages = (d.static ?? 0) + (d.compile ?? 0) + (d.correctness ?? 0) + (d.timing ?? 0);
  return {
    wall: wallSeconds,
    compile: d.compile ?? 0,
    correctness: d.correctness ?? 0,
    timing: d.timing ?? 0,
    // What the runtime spent outside the named stages (request parsing, sandbox set-up, result building).
    runtimeOverhead: Math.max(0, total - stages),
    roundTrip: Math.max(0, wallSeconds - total),
    total,
  };
}

const client = new RuntimeClient({ python: context.python, pythonPath: context.pythonPath, cwd: root, environment: context.env });
const scratch = mkdtempSync(join(tmpdir(), "kernelevolve-bench-eval-"));
const rows: Array<{ name: string; cache: "cold" | "warm"; samples: Sample[] }> = [];
try {
  const startupStarted = performance.now();
  const hello = await client.hello();
  const startupSeconds = (performance.now() - startupStarted) / 1000;
  const profile = await client.hardwareProfile("cpu");
  for (const item of cases) {
    const options = { sizes: [smallestSize(item.spec)], minTimeMs };
    const evaluate = async (cacheDirectory: string) => {
      const started = performance.now();
      const result = await client.evaluate(item.spec, "cpu", { language: "cpp", source: item.source }, options, { compileCacheDirectory: cacheDirectory });
      const wall = (performance.now() - started) / 1000;
      if (result.status !== "passed") throw new Error(`${item.name} failed (${result.reason}): ${result.message}\n${result.log.slice(0, 1500)}`);
      return sampleOf(result, wall);
    };
    const cold: Sample[] = [];
    for (let run = 0; run < runs; run += 1) cold.push(await evaluate(mkdtempSync(join(scratch, "cold-"))));
    const warmCache = mkdtempSync(join(scratch, "warm-"));
    await evaluate(warmCache); // fills the cache; not counted
    const warm: Sample[] = [];
    for (let run = 0; run < runs; run += 1) warm.push(await evaluate(warmCache));
    rows.push({ name: item.name, cache: "cold", samples: cold }, { name: item.name, cache: "warm", samples: warm });
    process.stderr.write(`. ${item.name}\n`);
  }

  const medians = rows.map((row) => ({
    name: row.name,
    cache: row.cache,
    ...Object.fromEntries((["wall", "compile", "correctness", "timing", "runtimeOverhead", "roundTrip"] as const).map((key) => [key, median(row.samples.map((sample) => sample[key]))])),
  })) as Array<{ name: string; cache: string } & Omit<Sample, "total">>;
  const machine = `${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB; Node ${process.version}; Python ${hello.python}, torch ${hello.torch ?? "none"}; ${profile.compiler ?? ""}`.trim();

  if (values.json) {
    process.stdout.write(`${JSON.stringify({ runs, minTimeMs, startupSeconds, machine, medians }, null, 2)}\n`);
  } else {
    const ms = (seconds: number) => (seconds * 1000).toFixed(0);
    const lines = [
      `Machine: ${machine}`,
      `Runtime start-up (spawn + hello): ${ms(startupSeconds)} ms. Medians of ${runs} runs per row; smallest size; minTimeMs ${minTimeMs}.`,
      "",
      "| kernel | cache | wall (ms) | compile | correctness | timing | runtime overhead | Node round trip | overhead total |",
      "|---|---|---:|---:|---:|---:|---:|---:|---:|",
      ...medians.map((row) =>
        `| ${row.name} | ${row.cache} | ${ms(row.wall)} | ${ms(row.compile)} | ${ms(row.correctness)} | ${ms(row.timing)} | ${ms(row.runtimeOverhead)} | ${ms(row.roundTrip)} | ${ms(row.runtimeOverhead + row.roundTrip)} |`,
      ),
    ];
    const worstOverhead = Math.max(...medians.map((row) => row.runtimeOverhead + row.roundTrip));
    const warmTrivial = medians.find((row) => row.cache === "warm" && row.name.startsWith("vector-add"))!;
    lines.push(
      "",
      `Goal overhead <= 100 ms per candidate: worst median ${ms(worstOverhead)} ms -> ${worstOverhead <= 0.1 ? "met" : "NOT met"}.`,
      `Goal warm-cache small kernel <= 0.5 s: vector-add ${ms(warmTrivial.wall)} ms -> ${warmTrivial.wall <= 0.5 ? "met" : "NOT met"}.`,
    );
    process.stdout.write(`${lines.join("\n")}\n`);
  }
} finally {
  await client.close();
  rmSync(scratch, { recursive: true, force: true });
}
