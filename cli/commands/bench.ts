import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";
import { UserError } from "../../core/errors.js";
import {
  BenchResultsSchema,
  compareResults,
  formatResultsCsv,
  formatResultsMarkdown,
  formatScoreMarkdown,
  scoreResults,
  type BenchResults,
} from "../../core/kernelbench-scoring.js";
import { importProblems } from "../../graphs/kernelbench/import-problems.js";
import { runBenchmark } from "../../graphs/kernelbench/run-benchmark.js";
import { RuntimeClient } from "../../platforms/index.js";
import type { CliContext } from "../context.js";
import { EXIT_CODES, defineCommand } from "../command.js";
import { COMMON_OPTIONS, option, optionsHelp, parseCommandLine } from "../options.js";

const kernelbenchOptions = {
  path: option(z.string().min(1).describe("A KernelBench checkout or a folder of problem files (required)"), "DIR"),
  level: option(z.number().int().min(1).optional().describe("Read <path>/level<N> (or <path>/KernelBench/level<N>)"), "N", { expects: "a level number such as 1" }),
  problems: option(z.string().regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/).optional().describe("Problem numbers, e.g. 1-20,25 (default: all)"), "LIST", { expects: "numbers and ranges such as 1-20,25" }),
  platform: option(z.string().min(1).default("cpu").describe("Runtime platform (default cpu)"), "ID"),
  candidates: option(z.string().min(1).optional().describe("Folder of ModelNew candidates named like the problems"), "DIR"),
  scale: option(
    z.string().refine((text) => ["auto", "none"].includes(text) || (Number(text) > 0 && Number(text) <= 1)).default("auto").describe("auto (shrink to fit this machine), none (the file's sizes) or a factor in (0, 1] of the full size's bytes (default auto); scaled problems are always reported as such"),
    "MODE",
    { expects: "auto, none or a factor in (0, 1]" },
  ),
  timeLimit: option(z.number().positive().default(60).describe("Wall limit per worker, per problem, in seconds (default 60)"), "S", { expects: "a positive number of seconds" }),
  minTimeMs: option(z.number().positive().default(50).describe("Minimum timed duration per measurement (default 50)"), "MS"),
  out: option(z.string().min(1).default("kernelbench-results").describe("Where to write results (default ./kernelbench-results)"), "DIR"),
  json: option(COMMON_OPTIONS.json.schema.describe("Print the results JSON instead of the summary")),
};
const compareOptions = { json: option(COMMON_OPTIONS.json.schema.describe("Both scores as one JSON object")) };

const usage = `
Usage: kernelevolve bench kernelbench --path <dir> [options]
       kernelevolve bench compare <a.json> <b.json> [--json]

kernelbench: imports KernelBench-format problems (class Model, get_inputs, get_init_inputs) as specs,
times every reference at its bench size and, with --candidates, evaluates the ModelNew file named like
each problem (19_ReLU.py, or any file starting with '19_'). Writes results.json, results.md and
results.csv to --out and prints the summary: correctness, fast_p for p in 0, 1, 1.5, 2, geomean speed-up.

Options (kernelbench):
${optionsHelp(kernelbenchOptions)}

Exit codes: 0 done, 2 bad usage, 3 the runtime failed.
`;

function readResults(path: string): BenchResults {
  if (!existsSync(path)) throw new UserError("file_not_found", `results file not found: ${path}`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new UserError("bad_results", `${path} is not JSON: ${(error as Error).message}`);
  }
  const parsed = BenchResultsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError("bad_results", `${path} is not a KernelBench results file: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  return parsed.data;
}

async function compare(argv: string[], context: CliContext): Promise<number> {
  const { values, positionals } = parseCommandLine(argv, compareOptions, usage, { expected: "two results files", min: 2, max: 2 });
  const [first, second] = positionals.map((path) => readResults(resolve(context.cwd, path)));
  if (values.json) {
    context.stdout.write(`${JSON.stringify({ a: scoreResults(first), b: scoreResults(second) })}\n`);
  } else {
    context.stdout.write(compareResults(first, second, [positionals[0], positionals[1]]));
  }
  return EXIT_CODES.ok;
}

async function kernelbench(argv: string[], context: CliContext): Promise<number> {
  const { values } = parseCommandLine(argv, kernelbenchOptions, usage);
  const path = resolve(context.cwd, values.path);
  if (!existsSync(path) || !statSync(path).isDirectory()) throw new UserError("folder_not_found", `no such folder: ${path}`);
  const { level, scale } = values;
  const candidates = values.candidates ? resolve(context.cwd, values.candidates) : null;
  if (candidates && (!existsSync(candidates) || !statSync(candidates).isDirectory())) throw new UserError("folder_not_found", `no such candidates folder: ${candidates}`);
  const { timeLimit: timeLimitSeconds, minTimeMs } = values;
  const out = resolve(context.cwd, values.out);

  const controller = new AbortController();
  const interrupt = () => controller.abort();
  process.once("SIGINT", interrupt);
  const client = new RuntimeClient({ python: context.python, pythonPath: context.pythonPath, cwd: context.root, environment: context.env });
  try {
    const records = importProblems({ python: context.python, pythonPath: context.pythonPath, path, level, problems: values.problems, scale, signal: controller.signal });
    const results = await runBenchmark(records, client, {
      path, level: level ?? null, platform: values.platform, scale, candidates, timeLimitSeconds, minTimeMs, signal: controller.signal,
      onProblem: (problem) => {
        const timing = problem.referenceMs === undefined ? "" : ` reference ${problem.referenceMs.toFixed(3)} ms`;
        const scaled = problem.scaled ? ` scaled (${Object.entries(problem.factors).map(([name, factor]) => `${name}/${factor}`).join(" ")})` : "";
        const candidate = problem.candidate ? ` candidate ${problem.candidate.status}${problem.candidate.speedup ? ` ${problem.candidate.speedup.toFixed(2)}x` : ` (${problem.candidate.reason})`}` : "";
        const failure = problem.status === "ok" ? "" : ` ${problem.status}: ${problem.reason} ${problem.error ?? ""}`;
        context.stderr.write(`${problem.file}:${timing}${scaled}${candidate}${failure} [${(problem.seconds ?? 0).toFixed(1)} s]\n`);
      },
    });
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(out, "results.md"), formatResultsMarkdown(results));
    writeFileSync(join(out, "results.csv"), formatResultsCsv(results));
    if (values.json) context.stdout.write(`${JSON.stringify(results)}\n`);
    else context.stdout.write(`${formatScoreMarkdown(scoreResults(results))}results: ${join(out, "results.json")} (.md, .csv)\n`);
    return EXIT_CODES.ok;
  } finally {
    process.off("SIGINT", interrupt);
    await client.close();
  }
}

export default defineCommand({
  name: "bench",
  summary: "KernelBench: import problems, time references, score candidates (fast_p), compare result files",
  usage,
  async run(argv, context) {
    const [subcommand, ...rest] = argv;
    if (subcommand === "kernelbench") return await kernelbench(rest, context);
    if (subcommand === "compare") return await compare(rest, context);
    throw new UserError("bad_usage", `bench expects 'kernelbench' or 'compare', got '${subcommand ?? "(nothing)"}'\n${usage.trim()}`);
  },
});
