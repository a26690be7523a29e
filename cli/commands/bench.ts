import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
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

const usage = `
Usage: kernelevolve bench kernelbench --path <dir> [options]
       kernelevolve bench compare <a.json> <b.json> [--json]

kernelbench: imports KernelBench-format problems (class Model, get_inputs, get_init_inputs) as specs,
times every reference at its bench size and, with --candidates, evaluates the ModelNew file named like
each problem (19_ReLU.py, or any file starting with '19_'). Writes results.json, results.md and
results.csv to --out and prints the summary: correctness, fast_p for p in 0, 1, 1.5, 2, geomean speed-up.

Options (kernelbench):
  --path DIR          A KernelBench checkout or a folder of problem files (required)
  --level N           Read <path>/level<N> (or <path>/KernelBench/level<N>)
  --problems LIST     Problem numbers, e.g. 1-20,25 (default: all)
  --platform ID       Runtime platform (default cpu)
  --candidates DIR    Folder of ModelNew candidates named like the problems
  --scale MODE        auto (shrink to fit this machine), none (the file's sizes) or a factor in (0, 1]
                      of the full size's bytes (default auto); scaled problems are always reported as such
  --time-limit S      Wall limit per worker, per problem (default 60)
  --min-time-ms MS    Minimum timed duration per measurement (default 50)
  --out DIR           Where to write results (default ./kernelbench-results)
  --json              Print the results JSON instead of the summary

Exit codes: 0 done, 2 bad usage, 3 the runtime failed.
`;

function parseOptional(flag: string, value: string | undefined, check: (number: number) => boolean, expected: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !check(parsed)) throw new UserError("bad_usage", `--${flag} expects ${expected}, got '${value}'`);
  return parsed;
}

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
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: "boolean", default: false } } });
  if (positionals.length !== 2) throw new UserError("bad_usage", `bench compare expects two results files, got ${positionals.length}\n${usage.trim()}`);
  const [first, second] = positionals.map((path) => readResults(resolve(context.cwd, path)));
  if (values.json) {
    context.stdout.write(`${JSON.stringify({ a: scoreResults(first), b: scoreResults(second) })}\n`);
  } else {
    context.stdout.write(compareResults(first, second, [positionals[0], positionals[1]]));
  }
  return EXIT_CODES.ok;
}

async function kernelbench(argv: string[], context: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      path: { type: "string" },
      level: { type: "string" },
      problems: { type: "string" },
      platform: { type: "string", default: "cpu" },
      candidates: { type: "string" },
      scale: { type: "string", default: "auto" },
      "time-limit": { type: "string" },
      "min-time-ms": { type: "string" },
      out: { type: "string", default: "kernelbench-results" },
      json: { type: "boolean", default: false },
    },
  });
  if (!values.path) throw new UserError("bad_usage", `--path is required\n${usage.trim()}`);
  const path = resolve(context.cwd, values.path);
  if (!existsSync(path) || !statSync(path).isDirectory()) throw new UserError("folder_not_found", `no such folder: ${path}`);
  const level = parseOptional("level", values.level, (number) => Number.isInteger(number) && number >= 1, "a level number such as 1");
  if (values.problems !== undefined && !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(values.problems)) {
    throw new UserError("bad_usage", `--problems expects numbers and ranges such as 1-20,25, got '${values.problems}'`);
  }
  const scale = values.scale as string;
  if (!["auto", "none"].includes(scale) && !(Number(scale) > 0 && Number(scale) <= 1)) {
    throw new UserError("bad_usage", `--scale expects auto, none or a factor in (0, 1], got '${scale}'`);
  }
  const candidates = values.candidates ? resolve(context.cwd, values.candidates) : null;
  if (candidates && (!existsSync(candidates) || !statSync(candidates).isDirectory())) throw new UserError("folder_not_found", `no such candidates folder: ${candidates}`);
  const timeLimitSeconds = parseOptional("time-limit", values["time-limit"], (number) => number > 0, "a positive number of seconds") ?? 60;
  const minTimeMs = parseOptional("min-time-ms", values["min-time-ms"], (number) => number > 0, "a positive number") ?? 50;
  const out = resolve(context.cwd, values.out as string);

  const controller = new AbortController();
  const interrupt = () => controller.abort();
  process.once("SIGINT", interrupt);
  const client = new RuntimeClient({ python: context.python, pythonPath: context.pythonPath, cwd: context.root, environment: context.env });
  try {
    const records = importProblems({ python: context.python, pythonPath: context.pythonPath, path, level, problems: values.problems, scale, signal: controller.signal });
    const results = await runBenchmark(records, client, {
      path, level: level ?? null, platform: values.platform as string, scale, candidates, timeLimitSeconds, minTimeMs, signal: controller.signal,
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
    try {
      if (subcommand === "kernelbench") return await kernelbench(rest, context);
      if (subcommand === "compare") return await compare(rest, context);
    } catch (error) {
      if (error instanceof TypeError && "code" in error && String((error as { code: unknown }).code).startsWith("ERR_PARSE_ARGS")) {
        throw new UserError("bad_usage", `${error.message}\n${usage.trim()}`);
      }
      throw error;
    }
    throw new UserError("bad_usage", `bench expects 'kernelbench' or 'compare', got '${subcommand ?? "(nothing)"}'\n${usage.trim()}`);
  },
});
