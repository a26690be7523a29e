import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chunkSourceResolver } from "../../dashboard/server/chunk-sources.js";
import { chunksInPrompt, RunsReader } from "../../dashboard/server/run-reader.js";
import { SyntheticRun } from "./synthetic-run.js";

/** The dashboard's read-only view of the run databases, without a browser. */
describe("dashboard run reader", () => {
  let runsDirectory: string;
  beforeEach(() => {
    runsDirectory = mkdtempSync(join(tmpdir(), "kernelevolve-dashboard-reader-"));
  });
  afterEach(() => rmSync(runsDirectory, { recursive: true, force: true }));

  test("summaries, incremental candidates and change markers follow the writer; a run without its process reads as interrupted", () => {
    const run = new SyntheticRun({ runsDirectory, id: "r1", seed: 4, budget: 20 });
    run.grow(10, 9);
    const reader = new RunsReader(runsDirectory, chunkSourceResolver([join(process.cwd(), "seeds", "docs")], process.cwd()));
    try {
      const before = reader.markers().get("r1")!;
      const summary = reader.summary("r1")!;
      const totals = run.db.totals();
      expect(summary).toMatchObject({ status: "running", candidates: 10, passed: totals.passed, failed: totals.failed, budget: 20, spec: "layernorm", platform: "cpu" });
      expect(summary.tokensInput).toBe(totals.tokensInput);
      expect(summary.bestSpeedup).toBeCloseTo(run.db.run().bestFitness);
      const passed = run.db.candidates().filter((candidate) => candidate.status === "passed");
      const bestLarge = Math.max(...passed.map((candidate) => candidate.result!.timings.find((timing) => timing.size === "large")!.speedup));
      expect(summary.bestPerSize.large).toBeCloseTo(bestLarge);

      const first = reader.nodes("r1", 0)!;
      expect(first.nodes.map((node) => node.id)).toEqual(run.db.candidates().map((candidate) => candidate.id));
      expect(first.nodes.find((node) => node.id === "c0002")!.parentIds).toEqual(run.db.candidate("c0002")!.parentIds);

      run.propose(3);
      expect(reader.markers().get("r1")).not.toBe(before);
      const next = reader.nodes("r1", first.cursor)!;
      const fresh = next.nodes.filter((node) => !first.nodes.some((old) => old.id === node.id));
      expect(fresh.map((node) => node.status)).toEqual(["pending", "pending", "pending"]);

      const child = fresh[0];
      const detail = reader.candidate("r1", child.id)!;
      expect(detail.parentSource).toBe(run.db.candidate(child.parentIds[0])!.source);
      expect(detail.chunks.map((chunk) => chunk.id)).toEqual(run.db.prompt(child.id).chunkIds);
      for (const chunk of detail.chunks) {
        expect(chunk.source).toMatch(/^seeds\/docs\/cpu\/.+\.md$/);
        expect(chunk.text).toBeTruthy();
      }
      expect(reader.candidate("r1", "c9999")).toBeUndefined();
      expect(reader.summary("../r1")).toBeUndefined();

      run.close(); // the lock goes, the row still says running
      expect(reader.summary("r1")).toMatchObject({ status: "interrupted" });
    } finally {
      reader.close();
    }
  });

  test("the reader cannot write, and a removed run folder leaves the list", () => {
    const run = new SyntheticRun({ runsDirectory, id: "r2", seed: 9 });
    run.grow(3, 2);
    run.finish();
    const reader = new RunsReader(runsDirectory);
    try {
      expect(reader.summaries().map((summary) => summary.id)).toEqual(["r2"]);
      const connection = (reader as unknown as { connections: Map<string, { db: { prepare(sql: string): { run(): void } } }> }).connections.get("r2")!;
      expect(() => connection.db.prepare("DELETE FROM candidates").run()).toThrow(/readonly/i);
      rmSync(join(runsDirectory, "r2"), { recursive: true, force: true });
      expect([...reader.markers().keys()]).toEqual([]);
      expect(reader.summaries()).toEqual([]);
    } finally {
      reader.close();
    }
  });

  test("chunks are cut out of a prompt's retrieved-knowledge section by their headings", () => {
    const prompt = [
      "## Task\nMake it fast.",
      "## Retrieved knowledge\nNotes.\n",
      "### Caches > Blocking [cpu-cache#blocking] (docs)\n## Blocking\nTile the loop.\n",
      "### A past kernel [experience#rmsnorm-c0004] (past kernel)\nUsed 8 accumulators.",
      "## Strategy\nunroll",
    ].join("\n\n");
    const chunks = chunksInPrompt(prompt);
    expect([...chunks.keys()]).toEqual(["cpu-cache#blocking", "experience#rmsnorm-c0004"]);
    expect(chunks.get("cpu-cache#blocking")).toEqual({ title: "Caches > Blocking", origin: "docs", text: "## Blocking\nTile the loop." });
    expect(chunks.get("experience#rmsnorm-c0004")!.text).toBe("Used 8 accumulators.");
    expect(chunksInPrompt(null).size).toBe(0);
  });
});
