import type { CandidateRecord } from "../../core/types.js";
import { ExperienceMemory } from "../../retrieval/experience-memory.js";
import { summarizeDiff } from "../../retrieval/diff-summary.js";
import { temporaryDirectory } from "./helpers.js";

function candidate(id: string, fitness: number, source: string, extra: Partial<CandidateRecord> = {}): CandidateRecord {
  return { id, runId: "run-1", generation: 1, parentIds: [], operator: "autotune", language: "cpp", source, status: "passed", fitness, createdAt: 0, ...extra };
}

const seed = "extern \"C\" void kernel(const float* x, float* y, int64_t R, int64_t D) {\n  for (int64_t r = 0; r < R; ++r) { /* scalar */ }\n}\n";
const fast = seed.replace("  for (int64_t r", "  #pragma omp parallel for schedule(static)\n  for (int64_t r");

describe("experience memory", () => {
  it("remembers a run's successful kernels and a second instance retrieves them", async () => {
    const directory = temporaryDirectory();
    const memory = await ExperienceMemory.open({ directory });
    const report = await memory.recordRun({
      runId: "run-1",
      spec: { id: "layernorm", category: "normalization", description: "Layer normalisation over rows" },
      platform: "cpu",
      candidates: [
        candidate("c0", 1.0, seed),
        candidate("c1", 3.5, fast, { parentIds: ["c0"], strategy: "parallelise rows with OpenMP", params: { SCHEDULE: "static" } }),
        candidate("c2", 0, "broken", { status: "failed" }),
      ],
    });
    expect(report.added).toBe(1);

    const later = await ExperienceMemory.open({ directory });
    expect(later.size).toBe(1);
    expect(later.entries()[0]).toMatchObject({ candidateId: "c1", specId: "layernorm", speedup: 3.5, strategy: "parallelise rows with OpenMP", params: { SCHEDULE: "static" } });
    const chunks = await later.retrieve({ text: "normalization layer norm rows cpu", platform: "cpu" });
    expect(chunks).toHaveLength(1);
    expect(chunks[0].source).toBe("experience");
    expect(chunks[0].text).toContain("3.50x faster");
    expect(chunks[0].text).toContain("#pragma omp parallel for schedule(static)");
    expect(chunks[0].text).toContain("Parameters: SCHEDULE=static");
    expect(await later.retrieve({ text: "normalization layer norm", platform: "cuda" })).toEqual([]);
  });

  it("replaces a run's entries when it is recorded again and keeps other runs", async () => {
    const memory = await ExperienceMemory.open({ directory: temporaryDirectory() });
    const spec = { id: "softmax", category: "normalization", description: "Row softmax" };
    await memory.recordRun({ runId: "a", spec, platform: "cpu", candidates: [candidate("k1", 2, fast)] });
    await memory.recordRun({ runId: "b", spec, platform: "cpu", candidates: [candidate("k1", 1.5, seed)] });
    await memory.recordRun({ runId: "a", spec, platform: "cpu", candidates: [candidate("k2", 4, fast)] });
    expect(memory.entries().map((entry) => `${entry.runId}/${entry.candidateId}`)).toEqual(["a/k2", "b/k1"]);
    // A re-recorded run without any kernel above the threshold forgets its old entries.
    const report = await memory.recordRun({ runId: "b", spec, platform: "cpu", candidates: [candidate("k1", 1.01, seed)] });
    expect(report.deleted).toBe(1);
    expect(memory.entries().map((entry) => entry.runId)).toEqual(["a"]);
  });

  it("summarises what a child added and removed", () => {
    const summary = summarizeDiff(seed, fast);
    expect(summary).toMatchObject({ added: 1, removed: 0 });
    expect(summary.addedLines[0]).toBe("#pragma omp parallel for schedule(static)");
  });
});
