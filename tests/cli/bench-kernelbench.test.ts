import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BenchResultsSchema, compareResults, formatResultsCsv, formatResultsMarkdown, scoreResults, type BenchResults } from "../../core/kernelbench-scoring.js";
import { KernelSpecSchema } from "../../core/spec.js";
import { runCliInProcess, ROOT } from "./cli-process.js";

const problem = (file: string, number: number, candidate?: { status: "passed" | "failed"; speedup?: number; reason?: string }) => ({
  number,
  file,
  status: "ok" as const,
  scaled: number === 2,
  factors: number === 2 ? { N: 4 } : {},
  size: {},
  referenceMs: number * 10,
  candidate: candidate ? { file, message: "", ...candidate } : undefined,
});

function results(rows: ReturnType<typeof problem>[]): BenchResults {
  return BenchResultsSchema.parse({ kind: "kernelbench-results", version: 1, createdAt: "2026-01-01T00:00:00Z", path: "/p", level: 1, platform: "cpu", scale: "auto", candidates: "/c", problems: rows });
}

describe("KernelBench scoring", () => {
  const run = results([
    problem("1_a.py", 1, { status: "passed", speedup: 0.5 }),
    problem("2_b.py", 2, { status: "passed", speedup: 1.2 }),
    problem("3_c.py", 3, { status: "passed", speedup: 3 }),
    problem("4_d.py", 4, { status: "failed", reason: "wrong_output" }),
    problem("5_e.py", 5),
  ]);

  test("fast_p counts correct AND faster than p over every problem; geomean over correct kernels only", () => {
    const score = scoreResults(run);
    expect(score.correct).toBe(3);
    expect(score.correctnessRate).toBeCloseTo(0.6);
    expect(score.fastP).toEqual({ "0": 0.6, "1": 0.4, "1.5": 0.2, "2": 0.2 });
    expect(score.geomeanSpeedup).toBeCloseTo(Math.cbrt(0.5 * 1.2 * 3));
    expect(score.medianReferenceMs).toBe(30);
    expect(score.scaled).toBe(1);
  });

  test("markdown and CSV carry one row per problem, the scaled flag and its factors", () => {
    const markdown = formatResultsMarkdown(run);
    expect(markdown).toContain("fast_1.5 20.0%");
    expect(markdown).toMatch(/\| 2 \| 2_b\.py \| ok \|  \| yes \| N\/4 \|/);
    const csv = formatResultsCsv(run).trim().split("\n");
    expect(csv).toHaveLength(6);
    expect(csv[4]).toBe("4,4_d.py,ok,,no,,40.000,failed,wrong_output,");
  });

  test("compare matches problems by file and names what changed", () => {
    const better = results([
      problem("1_a.py", 1, { status: "passed", speedup: 1 }),
      problem("2_b.py", 2, { status: "failed", reason: "stale_result" }),
      problem("3_c.py", 3, { status: "passed", speedup: 3 }),
      problem("4_d.py", 4, { status: "passed", speedup: 2 }),
    ]);
    const text = compareResults(run, better, ["old", "new"]);
    expect(text).toContain("| 1_a.py | 0.500x | 1.000x | 100.0% |");
    expect(text).toContain("| 2_b.py | 1.200x | failed (stale_result) | now failing |");
    expect(text).toContain("| 4_d.py | failed (wrong_output) | 2.000x | now correct |");
    expect(text).toContain("| 5_e.py | ok | absent |  |");
  });
});

describe("kernelevolve bench (real runtime)", () => {

  const work = mkdtempSync(join(tmpdir(), "bench-kb-"));
  const problems = join(ROOT, "tests", "fixtures", "honest", "problems");

  test("imports the fixture problems as valid specs, times references, scores named candidates, writes three formats", async () => {
    const candidates = join(work, "candidates");
    mkdirSync(candidates);
    copyFileSync(join(ROOT, "tests", "fixtures", "honest", "softmax_fused.py"), join(candidates, "4_row_softmax.py"));
    // Named by number only: found through the '2_' prefix; it cheats, so it must be scored as failed.
    copyFileSync(join(ROOT, "tests", "fixtures", "cheats", "global_cache.py"), join(candidates, "2_anything.py"));
    const out = join(work, "out");
    const run = await runCliInProcess(["bench", "kernelbench", "--path", problems, "--problems", "2-4", "--candidates", candidates, "--out", out, "--min-time-ms", "5"]);
    expect(run.stderr).toContain("3_linear_relu.py: reference");
    expect(run.status).toBe(0);
    const written = BenchResultsSchema.parse(JSON.parse(readFileSync(join(out, "results.json"), "utf8")));
    expect(written.problems.map((row) => row.file)).toEqual(["2_matmul.py", "3_linear_relu.py", "4_row_softmax.py"]);
    expect(written.problems.every((row) => row.status === "ok" && (row.referenceMs ?? 0) > 0)).toBe(true);
    expect(written.problems[0].candidate).toMatchObject({ file: "2_anything.py", status: "failed", reason: "static_check" });
    expect(written.problems[1].candidate).toBeUndefined();
    expect(written.problems[2].candidate).toMatchObject({ status: "passed" });
    expect(scoreResults(written).fastP["0"]).toBeCloseTo(1 / 3);
    expect(readFileSync(join(out, "results.csv"), "utf8").split("\n")[0]).toBe("problem,file,status,reason,scaled,factors,reference_ms,candidate,candidate_reason,speedup");
    expect(run.stdout).toContain("correct: 1 (33.3%)");

    const again = join(work, "again.json");
    writeFileSync(again, JSON.stringify({ ...written, problems: written.problems.slice(0, 1) }));
    const compared = await runCliInProcess(["bench", "compare", join(out, "results.json"), again]);
    expect(compared.status).toBe(0);
    expect(compared.stdout).toContain("| 4_row_softmax.py |");
    expect(compared.stdout).toContain("absent");
  }, 300_000);

  test("an imported spec passes the zod schema, with the kernelbench origin and init inputs", async () => {
    const { spawnSync } = await import("node:child_process");
    const output = spawnSync(join(ROOT, ".venv", "bin", "python"), ["-m", "kernelevolve_runtime.kernelbench", "import", "--path", problems, "--problems", "3"], {
      env: { PYTHONPATH: join(ROOT, "python"), PATH: process.env.PATH ?? "/usr/bin" },
      encoding: "utf8",
    });
    const record = JSON.parse(output.stdout.trim());
    const spec = KernelSpecSchema.parse(record.spec);
    expect(spec.initInputs).toEqual([256, 128]);
    expect(spec.kernelbench?.structural).toEqual(["in_features", "out_features"]);
    expect(spec.inputs[0].shape).toEqual(["batch", "in_features"]);
    expect(Object.keys(spec.sizes)).toEqual(["small", "bench"]);
  }, 60_000);

  test("bad arguments are usage errors naming the flag", async () => {
    const missing = await runCliInProcess(["bench", "kernelbench"]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("--path is required");
    const badScale = await runCliInProcess(["bench", "kernelbench", "--path", problems, "--scale", "3"]);
    expect(badScale.status).toBe(2);
    expect(badScale.stderr).toContain("--scale expects auto, none or a factor in (0, 1]");
    const notResults = join(work, "not-results.json");
    writeFileSync(notResults, JSON.stringify({ kind: "something-else" }));
    const compared = await runCliInProcess(["bench", "compare", notResults, notResults]);
    expect(compared.status).toBe(2);
    expect(compared.stderr).toContain("is not a KernelBench results file");
    const unknown = await runCliInProcess(["bench", "frobnicate"]);
    expect(unknown.status).toBe(2);
  });
});
