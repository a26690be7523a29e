import { afterAll, describe, expect, it } from "@jest/globals";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RunDatabase } from "../../graphs/runs/run-database.js";
import { ROOT } from "./cli-process.js";

// `kernelevolve optimize` on the real cpu platform (Python runtime, g++, torch), killed with SIGKILL
// mid-run, then `kernelevolve resume`: nothing lost, nothing finished evaluated twice.
const python = existsSync(join(ROOT, ".venv", "bin", "python")) ? join(ROOT, ".venv", "bin", "python") : "python3";
const runtimeCheck = spawnSync(python, ["-c", "import importlib.util, sys, torch; sys.exit(0 if importlib.util.find_spec('kernelevolve_runtime.__main__') else 1)"], { cwd: join(ROOT, "python"), encoding: "utf8" });
const runtimeReady = runtimeCheck.status === 0;
const work = mkdtempSync(join(tmpdir(), "kernelevolve-kill-cli-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", KERNELEVOLVE_RUNS: join(work, "runs"), KERNELEVOLVE_CACHE: join(work, "cache") };

function cli(args: string[]): ChildProcess {
  // The CLI's own process (no bin/ wrapper), so SIGKILL hits the orchestrator itself.
  return spawn(process.execPath, ["--import", "tsx", join(ROOT, "cli", "main.ts"), ...args], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
}

function collect(child: ChildProcess, onLine: (line: string) => void = () => undefined) {
  let stdout = "";
  let stderr = "";
  let partial = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    stdout += chunk;
    partial += chunk;
    const lines = partial.split("\n");
    partial = lines.pop()!;
    lines.forEach(onLine);
  });
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk));
  return new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
}

const maybe = runtimeReady ? describe : describe.skip;
if (!runtimeReady) {
  process.stderr.write(`optimize-kill-cli: skipped, the Python runtime is not importable here: ${(runtimeCheck.stderr || runtimeCheck.error?.message || "").trim().split("\n").at(-1)}\n`);
}

maybe("kernelevolve optimize, kill -9, kernelevolve resume (real cpu platform)", () => {
  it("continues the run to its budget without losing or re-evaluating a finished candidate", async () => {
    let runId = "";
    let ended = 0;
    const child = cli(["optimize", "rmsnorm", "--budget", "7", "--generation-size", "3", "--size", "small", "--min-time-ms", "10", "--trials", "1", "--json"]);
    const exit = collect(child, (line) => {
      const event = JSON.parse(line);
      if (event.type === "run-start") runId = event.runId;
      if (event.type === "candidate-end" && ++ended === 3) child.kill("SIGKILL");
    });
    const killed = await exit;
    expect({ signal: killed.signal, stderr: killed.stderr }).toEqual({ signal: "SIGKILL", stderr: "" });
    const folder = join(env.KERNELEVOLVE_RUNS, runId);
    const before = RunDatabase.open(folder);
    const finished = before.candidates().filter((candidate) => candidate.status !== "pending");
    before.close();
    expect(finished.length).toBeGreaterThanOrEqual(3);

    const resumed = await collect(cli(["resume", runId, "--json"]));
    expect(resumed.stderr).toBe("");
    expect(resumed.code).toBe(0);
    const events = resumed.stdout.trim().split("\n").map((line) => JSON.parse(line));
    expect(events[0]).toMatchObject({ type: "run-start", resumed: true, runId });
    expect(events.at(-1)).toMatchObject({ type: "run-end", status: "completed", reason: "budget" });
    // Only candidates that were not finished before the kill are evaluated by the resumed process.
    const resumedIds = events.filter((event) => event.type === "candidate-end").map((event) => event.candidateId);
    expect(resumedIds.filter((id: string) => finished.some((candidate) => candidate.id === id))).toEqual([]);

    const after = RunDatabase.open(folder);
    const candidates = after.candidates();
    const totals = after.totals();
    after.close();
    expect(totals.candidates).toBe(7);
    expect(totals.pending).toBe(0);
    expect(totals.passed + totals.failed).toBe(7);
    expect(finished.length + resumedIds.length).toBe(7);
    expect(candidates.every((candidate) => candidate.evaluationCount === 1)).toBe(true);
    for (const candidate of finished) expect(candidates.find((other) => other.id === candidate.id)).toEqual(candidate);
  }, 300_000);
});
