/** A campaign killed between creating a search's run database and recording the run resumes that search from scratch. */
import Database from "better-sqlite3";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCliInProcess } from "./cli-process.js";

it("resumes a member whose run database holds no run yet, instead of skipping it", async () => {
  const runs = mkdtempSync(join(tmpdir(), "kernelevolve-campaign-empty-"));
  const env = { KERNELEVOLVE_RUNS: runs };
  try {
    const first = await runCliInProcess(["campaign", "start", "ce", "--spec", "row-sum-squares", "--budget", "2", "--size", "small", "--json"], env);
    expect(first.status).toBe(0);
    // Rewind to the moment of a kill -9 right after the database file was created: an empty database, member pending.
    const file = join(runs, "campaigns", "ce", "campaign.json");
    const campaign = JSON.parse(readFileSync(file, "utf8"));
    const member = campaign.members[0];
    Object.assign(member, { status: "pending", candidates: undefined, bestFitness: undefined });
    writeFileSync(file, JSON.stringify(campaign));
    const folder = join(runs, member.runId);
    rmSync(folder, { recursive: true, force: true });
    mkdirSync(folder, { recursive: true });
    new Database(join(folder, "run.sqlite")).close();
    const again = await runCliInProcess(["campaign", "resume", "ce", "--json"], env);
    expect(again.status).toBe(0);
    const end = JSON.parse(again.stdout.trim().split("\n").at(-1)!);
    expect(end.members.map((entry: { status: string; candidates: number }) => [entry.status, entry.candidates])).toEqual([["completed", 2]]);
  } finally {
    rmSync(runs, { recursive: true, force: true });
  }
}, 180_000);
