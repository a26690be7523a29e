import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT_CODES } from "../../cli/command.js";
import { RunDatabase } from "../../graphs/runs/run-database.js";
import { FAKE_PYTHON, runCliInProcess } from "./cli-process.js";

// The CLI end to end on the fake runtime (every correct kernel is 2.00x): flags, files and exit codes.
let work: string;
let env: Record<string, string>;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "kernelevolve-optimize-cli-"));
  env = { KERNELEVOLVE_PYTHON: FAKE_PYTHON, KERNELEVOLVE_CACHE: join(work, "cache"), KERNELEVOLVE_RUNS: join(work, "runs") };
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("kernelevolve optimize / runs / best / report / resume", () => {
  let runId = "";

  it("optimize --json prints one event per line and writes the run folder", async () => {
    const run = await runCliInProcess(["optimize", "layernorm", "--budget", "7", "--policy", "tournament", "--seed", "3", "--size", "small", "--json"], env);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(EXIT_CODES.ok);
    const events = run.stdout.trim().split("\n").map((line) => JSON.parse(line));
    expect(events[0]).toMatchObject({ type: "run-start", specId: "layernorm", platform: "cpu", operator: "autotune", policy: "tournament" });
    expect(events.at(-1)).toMatchObject({ type: "run-end", reason: "budget", status: "completed", bestFitness: 2 });
    expect(events.filter((event) => event.type === "candidate-end")).toHaveLength(7);
    runId = events[0].runId;
    const db = RunDatabase.open(join(env.KERNELEVOLVE_RUNS, runId));
    const candidates = db.candidates();
    const settings = (db.run().config as { settings: { evaluation: { sizes: string[] }; seed: number } }).settings;
    db.close();
    expect(candidates).toHaveLength(7);
    expect(settings.evaluation.sizes).toEqual(["small"]);
    expect(settings.seed).toBe(3);
    expect(candidates.filter((candidate) => candidate.generation === 0).map((candidate) => candidate.strategy)).toEqual(["seed: baseline", "seed: template (default instance)"]);
  });

  it("plain output shows the run, the best and where the results are", async () => {
    const run = await runCliInProcess(["optimize", "layernorm", "--budget", "5", "--size", "small"], env);
    expect(run.status).toBe(EXIT_CODES.ok);
    expect(run.stdout).toMatch(/^run \d{8}-\d{6}-layernorm-[0-9a-f]{4}: layernorm on cpu, operator autotune, policy greedy/);
    expect(run.stdout).toMatch(/best 2\.00x {2}c0001 \(generation 0\) {2}seed: baseline/);
    expect(run.stdout).toMatch(/gen 1 \| 5\/5 evaluated \(0 failed\) \| best 2\.00x/);
    expect(run.stdout).toMatch(/run completed: budget; best 2\.00x \(c0001\)/);
    expect(run.stdout).toMatch(/report: kernelevolve report /);
  });

  it("runs lists both runs; --json gives the fields", async () => {
    const list = await runCliInProcess(["runs"], env);
    expect(list.status).toBe(0);
    const lines = list.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^RUN\s+SPEC\s+STATUS\s+CANDIDATES\s+BEST\s+TIME$/);
    expect(lines).toHaveLength(3);
    expect(lines.find((line) => line.startsWith(runId))).toMatch(/layernorm\s+completed \(budget\)\s+7 \(0 failed\)\s+2\.00x/);
    const json = JSON.parse((await runCliInProcess(["runs", "--json"], env)).stdout);
    expect(json).toHaveLength(2);
    expect(json.find((row: { id: string }) => row.id === runId)).toMatchObject({ id: runId, spec: "layernorm", status: "completed", candidates: 7, bestSpeedup: 2, policy: "tournament" });
  });

  it("best writes the best kernel; report writes markdown and HTML", async () => {
    const output = join(work, "best.cpp");
    const best = await runCliInProcess(["best", runId, "-o", output], env);
    expect(best.status).toBe(0);
    expect(best.stderr).toMatch(/wrote c0001 \(2\.00x, seed: baseline\)/);
    expect(readFileSync(output, "utf8")).toBe(readFileSync(join(env.KERNELEVOLVE_RUNS, runId, "kernels", "c0001.cpp"), "utf8"));
    // A unique prefix names the run (two runs of one spec can start in the same second: keep the random tail).
    const report = await runCliInProcess(["report", runId.slice(0, -1)], env);
    expect(report.status).toBe(0);
    expect(existsSync(join(env.KERNELEVOLVE_RUNS, runId, "report.html"))).toBe(true);
    expect(readFileSync(join(env.KERNELEVOLVE_RUNS, runId, "report.md"), "utf8")).toContain(`# Run ${runId}`);
    const resume = await runCliInProcess(["resume", runId], env);
    expect(resume.status).toBe(0);
    expect(resume.stdout).toContain("already completed");
  });

  it("rejects bad input with exit 2 and a message that says what is wrong", async () => {
    const cases: [string[], RegExp][] = [
      [["optimize"], /expected one spec id or file, got 0/],
      [["optimize", "layernorm", "--budget", "0"], /--budget expects a positive integer, got '0'/],
      [["optimize", "layernorm", "--time", "soon"], /--time expects a duration such as 90s, 10m or 1\.5h, got 'soon'/],
      [["optimize", "layernorm", "--policy", "annealing"], /unknown selection policy 'annealing'\. Available: greedy, map-elites, tournament, ucb/],
      [["optimize", "layernorm", "--size", "huge"], /spec 'layernorm' has no size huge\. Available: small, medium, large/],
      [["optimize", "layernrm"], /no spec named 'layernrm'/],
      [["best", "no-such-run"], /no run 'no-such-run'/],
      [["report"], /expected one run id or folder/],
    ];
    for (const [args, message] of cases) {
      const run = await runCliInProcess(args, env);
      expect({ args, status: run.status }).toEqual({ args, status: EXIT_CODES.usage });
      expect(run.stderr).toMatch(message);
    }
  });
});
