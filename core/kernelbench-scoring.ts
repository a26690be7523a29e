import { z } from "zod";

/**
 * KernelBench results as the field reports them: correctness rate, fast_p (the share of problems whose
 * candidate is correct AND faster than p times the reference) and the geometric-mean speed-up over
 * correct kernels; tables in markdown and CSV; a comparison of two result files.
 */

/** The p values of fast_p that KernelBench reports. */
export const FAST_P_THRESHOLDS = [0, 1, 1.5, 2] as const;

export const BenchCandidateSchema = z
  .object({
    file: z.string().describe("Candidate file name"),
    status: z.enum(["passed", "failed"]).describe("The evaluation's verdict"),
    reason: z.string().optional().describe("Failure reason code (core/protocol.ts FailureReason)"),
    message: z.string().describe("One readable line from the evaluation"),
    speedup: z.number().optional().describe("Reference median / candidate median at the bench size"),
    medianMs: z.number().optional().describe("Candidate median time (ms)"),
  })
  .describe("A candidate's outcome on one problem");

export const BenchProblemSchema = z
  .object({
    number: z.number().int().nullable().describe("Problem number (from the file name)"),
    file: z.string().describe("Problem file name"),
    specId: z.string().optional().describe("Id of the imported spec"),
    status: z.enum(["ok", "import_failed", "reference_failed"]).describe("Whether the problem imported and its reference ran"),
    reason: z.string().optional().describe("Why it did not run: missing_module, unsupported, memory, time, invalid_spec, ..."),
    error: z.string().optional().describe("The error, one line"),
    scaled: z.boolean().default(false).describe("The bench size is smaller than the problem's own"),
    factors: z.record(z.number()).default({}).describe("Per scaled constant: full value / bench value"),
    size: z.record(z.number()).default({}).describe("The constants at the bench size"),
    referenceMs: z.number().optional().describe("Reference median time at the bench size (ms)"),
    seconds: z.number().optional().describe("Wall time spent on this problem"),
    candidate: BenchCandidateSchema.optional().describe("The candidate's outcome, when candidates were given"),
  })
  .describe("One problem's row of a KernelBench run");
export type BenchProblem = z.infer<typeof BenchProblemSchema>;

export const BenchResultsSchema = z
  .object({
    kind: z.literal("kernelbench-results").describe("Marks a KernelBench results file"),
    version: z.literal(1).describe("Format version"),
    createdAt: z.string().describe("ISO time the run finished"),
    path: z.string().describe("Problem folder that was read"),
    level: z.number().int().nullable().describe("KernelBench level, or null"),
    platform: z.string().describe("Platform the problems ran on"),
    scale: z.string().describe("Scale option: auto, none or a factor"),
    candidates: z.string().nullable().describe("Candidate folder, or null when only references were timed"),
    problems: z.array(BenchProblemSchema).describe("One row per selected problem file"),
  })
  .describe("A KernelBench run's results");
export type BenchResults = z.infer<typeof BenchResultsSchema>;

/** The field's summary numbers of one run. */
export interface BenchScore {
  problems: number;
  referencesRan: number;
  candidates: number;
  correct: number;
  correctnessRate: number;
  fastP: Record<string, number>;
  geomeanSpeedup: number | null;
  scaled: number;
  medianReferenceMs: number | null;
}

function median(values: number[]): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Geometric mean of positive numbers, or null for none. */
export function geometricMean(values: number[]): number | null {
  const positive = values.filter((value) => value > 0 && Number.isFinite(value));
  if (!positive.length) return null;
  return Math.exp(positive.reduce((sum, value) => sum + Math.log(value), 0) / positive.length);
}

/**
 * Scores a run; every selected problem is in the denominator, so a problem without a correct candidate
 * (missing, failed, or not importable) counts against the rates, as in KernelBench.
 */
export function scoreResults(results: BenchResults): BenchScore {
  const problems = results.problems;
  const correctRows = problems.filter((problem) => problem.candidate?.status === "passed");
  const speedups = correctRows.map((problem) => problem.candidate?.speedup ?? 0);
  const fastP: Record<string, number> = {};
  for (const threshold of FAST_P_THRESHOLDS) {
    const count = speedups.filter((speedup) => speedup > threshold).length;
    fastP[String(threshold)] = problems.length ? count / problems.length : 0;
  }
  return {
    problems: problems.length,
    referencesRan: problems.filter((problem) => problem.status === "ok").length,
    candidates: problems.filter((problem) => problem.candidate).length,
    correct: correctRows.length,
    correctnessRate: problems.length ? correctRows.length / problems.length : 0,
    fastP,
    geomeanSpeedup: geometricMean(speedups),
    scaled: problems.filter((problem) => problem.status === "ok" && problem.scaled).length,
    medianReferenceMs: median(problems.flatMap((problem) => (problem.referenceMs === undefined ? [] : [problem.referenceMs]))),
  };
}

const number = (value: number | null | undefined, digits = 2) => (value === null || value === undefined ? "" : value.toFixed(digits));
const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
const factorsText = (factors: Record<string, number>) =>
  Object.entries(factors).map(([name, factor]) => `${name}/${Number(factor.toFixed(2))}`).join(" ");

/** The summary block in markdown. */
export function formatScoreMarkdown(score: BenchScore): string {
  const fast = FAST_P_THRESHOLDS.map((threshold) => `fast_${threshold} ${percent(score.fastP[String(threshold)])}`).join(", ");
  const lines = [
    `- problems: ${score.problems}; references ran: ${score.referencesRan} (${score.scaled} scaled); median reference time: ${number(score.medianReferenceMs, 3)} ms`,
  ];
  if (score.candidates) {
    lines.push(`- candidates: ${score.candidates}; correct: ${score.correct} (${percent(score.correctnessRate)}); ${fast}`);
    lines.push(`- geomean speed-up over correct kernels: ${score.geomeanSpeedup === null ? "n/a" : `${score.geomeanSpeedup.toFixed(3)}x`}`);
  }
  return `${lines.join("\n")}\n`;
}

const COLUMNS = ["problem", "file", "status", "reason", "scaled", "factors", "reference_ms", "candidate", "candidate_reason", "speedup"] as const;

function rowValues(problem: BenchProblem): string[] {
  return [
    problem.number === null ? "" : String(problem.number),
    problem.file,
    problem.status,
    problem.reason ?? "",
    problem.scaled ? "yes" : "no",
    factorsText(problem.factors),
    number(problem.referenceMs, 3),
    problem.candidate?.status ?? "",
    problem.candidate?.reason ?? "",
    number(problem.candidate?.speedup, 3),
  ];
}

/** One row per problem, as a markdown table (pipes in cells escaped). */
export function formatResultsMarkdown(results: BenchResults): string {
  const escape = (cell: string) => cell.replaceAll("|", "\\|");
  const header = `| ${COLUMNS.join(" | ")} |\n|${COLUMNS.map(() => "---").join("|")}|\n`;
  const body = results.problems.map((problem) => `| ${rowValues(problem).map(escape).join(" | ")} |`).join("\n");
  return `## KernelBench ${results.level === null ? "" : `level ${results.level} `}on ${results.platform} (scale ${results.scale})\n\n${formatScoreMarkdown(scoreResults(results))}\n${header}${body}\n`;
}

/** One row per problem, as RFC 4180 CSV. */
export function formatResultsCsv(results: BenchResults): string {
  const quote = (cell: string) => (/[",\n]/.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell);
  return `${[COLUMNS.join(","), ...results.problems.map((problem) => rowValues(problem).map(quote).join(","))].join("\n")}\n`;
}

/** Side-by-side summary and per-problem speed-ups of two runs, matched by problem file. */
export function compareResults(first: BenchResults, second: BenchResults, names: [string, string] = ["a", "b"]): string {
  const [scoreA, scoreB] = [scoreResults(first), scoreResults(second)];
  const metric = (label: string, a: string, b: string) => `| ${label} | ${a} | ${b} |`;
  const lines = [
    `| metric | ${names[0]} | ${names[1]} |`,
    "|---|---|---|",
    metric("problems", String(scoreA.problems), String(scoreB.problems)),
    metric("correct", `${scoreA.correct} (${percent(scoreA.correctnessRate)})`, `${scoreB.correct} (${percent(scoreB.correctnessRate)})`),
    ...FAST_P_THRESHOLDS.map((threshold) => metric(`fast_${threshold}`, percent(scoreA.fastP[String(threshold)]), percent(scoreB.fastP[String(threshold)]))),
    metric("geomean speed-up (correct)", number(scoreA.geomeanSpeedup, 3), number(scoreB.geomeanSpeedup, 3)),
    metric("median reference ms", number(scoreA.medianReferenceMs, 3), number(scoreB.medianReferenceMs, 3)),
    "",
    `| problem | ${names[0]} speed-up | ${names[1]} speed-up | change |`,
    "|---|---|---|---|",
  ];
  const byFile = new Map(second.problems.map((problem) => [problem.file, problem]));
  const files = [...new Set([...first.problems.map((problem) => problem.file), ...second.problems.map((problem) => problem.file)])];
  const cell = (problem: BenchProblem | undefined) =>
    !problem ? "absent" : problem.candidate?.status === "passed" ? `${number(problem.candidate.speedup, 3)}x` : problem.candidate ? `failed (${problem.candidate.reason ?? "?"})` : problem.status;
  const firstByFile = new Map(first.problems.map((problem) => [problem.file, problem]));
  for (const file of files) {
    const a = firstByFile.get(file);
    const b = byFile.get(file);
    const passedA = a?.candidate?.status === "passed";
    const passedB = b?.candidate?.status === "passed";
    const change = passedA && passedB ? `${(((b?.candidate?.speedup ?? 0) / (a?.candidate?.speedup ?? 1)) * 100 - 100).toFixed(1)}%` : passedA !== passedB ? (passedB ? "now correct" : "now failing") : "";
    lines.push(`| ${file} | ${cell(a)} | ${cell(b)} | ${change} |`);
  }
  return `${lines.join("\n")}\n`;
}
