import { afterAll, describe, expect, it } from "@jest/globals";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { RunDatabase } from "../../graphs/runs/run-database.js";

const root = mkdtempSync(join(tmpdir(), "kernelevolve-kill-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const fixture = join(process.cwd(), "tests", "graphs", "fixtures", "optimize-process.ts");

function launch(args: string[]): ChildProcess {
  // One node process (tsx as an import hook, no wrapper), so SIGKILL hits the process doing the work.
  return spawn(process.execPath, ["--import", "tsx", fixture, ...args], { stdio: ["ignore", "pipe", "pipe"] });
}

function finished(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  return new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal, output })));
}

function evaluatedCount(databasePath: string): number {
  if (!existsSync(databasePath)) return 0;
  try {
    const db = new Database(databasePath, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare("SELECT COUNT(*) AS n FROM candidates WHERE status != 'pending'").get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0; // schema not created yet
  }
}

describe("kill -9 and resume (real processes)", () => {
  it("loses nothing and evaluates no finished candidate twice", async () => {
    const runId = "killed-run";
    const folder = join(root, runId);
    const log = join(root, "evaluations.log");
    const child = launch(["start", root, runId, log]);
    const exit = finished(child);
    // Kill once a few candidates are evaluated and others are in flight.
    const deadline = Date.now() + 60_000;
    while (evaluatedCount(join(folder, "run.sqlite")) < 6) {
      if (Date.now() > deadline) throw new Error(`the run did not progress: ${(await Promise.race([exit, Promise.resolve({ output: "(still running)" })])).output}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    child.kill("SIGKILL");
    const killed = await exit;
    expect(killed.signal).toBe("SIGKILL");

    const before = RunDatabase.open(folder);
    const snapshot = before.candidates();
    // Nobody got to mark it finished, and its owner process is gone: it reads as interrupted.
    expect(before.run().status).toBe("interrupted");
    before.close();
    const done = snapshot.filter((candidate) => candidate.status !== "pending");
    expect(done.length).toBeGreaterThanOrEqual(6);
    expect(snapshot.length).toBeLessThan(24);

    const resumed = await finished(launch(["resume", folder, log]));
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.output.trim().split("\n").at(-1)!)).toEqual({ status: "completed", reason: "budget" });

    const after = RunDatabase.open(folder);
    const candidates = after.candidates();
    const totals = after.totals();
    const run = after.run();
    after.close();
    expect(candidates).toHaveLength(24);
    expect(totals).toMatchObject({ candidates: 24, pending: 0 });
    expect(totals.passed + totals.failed).toBe(24);
    expect(run.status).toBe("completed");
    // Finished candidates are untouched; every candidate was recorded exactly once.
    for (const candidate of done) expect(candidates.find((other) => other.id === candidate.id)).toEqual(candidate);
    expect(candidates.every((candidate) => candidate.evaluationCount === 1)).toBe(true);
    expect(new Set(candidates.map((candidate) => candidate.sourceHash)).size).toBe(24);
    // The platform saw each finished candidate once; only evaluations cut by the kill may repeat.
    const evaluations = readFileSync(log, "utf8").trim().split("\n");
    const counts = new Map<string, number>();
    for (const hash of evaluations) counts.set(hash, (counts.get(hash) ?? 0) + 1);
    for (const candidate of done) expect(counts.get(candidate.sourceHash)).toBe(1);
    expect(evaluations.length - 24).toBeLessThanOrEqual(2); // at most the capacity was in flight at the kill
    // The run's best is the best of its population.
    expect(run.bestFitness).toBe(Math.max(...candidates.map((candidate) => candidate.fitness)));
  });
});
