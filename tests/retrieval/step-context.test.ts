import type { ContextProvider, RetrievedChunk } from "../../core/types.js";
import { KnowledgeStore } from "../../retrieval/knowledge-store.js";
import { loadDocuments } from "../../retrieval/load-documents.js";
import { buildRetrievalQueries, deduplicateChunks, diagnosticLines, retrieveStepContext } from "../../retrieval/step-context.js";
import { estimateTokens, fitToTokenBudget } from "../../retrieval/token-budget.js";
import { promptSection } from "../../retrieval/prompt-section.js";
import { SEED_DOCS, temporaryDirectory } from "./helpers.js";

const spec = { id: "layernorm", category: "normalization", description: "Layer normalisation over the last dimension." };
const compileLog = [
  "/tmp/kernel-abc/kernel.cpp: In function 'void kernel(const float*, float*, int64_t, int64_t)':",
  "/tmp/kernel-abc/kernel.cpp:12:5: error: 'restrict' does not name a type",
  "/tmp/kernel-abc/kernel.cpp:20:3: error: '__m256' was not declared in this scope",
  "compilation terminated.",
].join("\n");

function chunk(id: string, text: string, source: RetrievedChunk["source"] = "docs"): RetrievedChunk {
  return { id, documentId: id.split("#")[0], title: id, text, score: 1, source };
}

describe("step context", () => {
  it("turns a compile failure into a query with the diagnostics, without paths", () => {
    const queries = buildRetrievalQueries({
      spec,
      platform: "cpu",
      language: "cpp",
      tokenBudget: 1000,
      parentResult: { status: "failed", stage: "compile", reason: "compile_error", message: "compile failed", log: compileLog, timings: [] },
    });
    expect(queries[0].purpose).toBe("failure");
    expect(queries[0].text).toContain("'restrict' does not name a type");
    expect(queries[0].text).not.toContain("/tmp/kernel-abc");
    expect(queries.map((query) => query.purpose)).toEqual(["failure", "operator", "hardware"]);
    expect(diagnosticLines(compileLog)).toHaveLength(2);
  });

  it("asks a performance question when the parent passed", () => {
    const queries = buildRetrievalQueries({ spec, platform: "triton", tokenBudget: 500, parentResult: { status: "passed", stage: "done", message: "ok", log: "", timings: [], speedup: 0.6 } });
    expect(queries.find((query) => query.purpose === "performance")?.text).toContain("slower than the reference");
  });

  it("retrieves the g++ error catalogue for the failure, within the token budget, with chunk ids", async () => {
    const store = await KnowledgeStore.open({ directory: temporaryDirectory() });
    await store.sync(loadDocuments([SEED_DOCS]));
    for (const tokenBudget of [300, 900, 2500]) {
      const context = await retrieveStepContext([store], {
        spec,
        platform: "cpu",
        language: "cpp",
        tokenBudget,
        parentResult: { status: "failed", stage: "compile", reason: "compile_error", message: "compile failed", log: compileLog, timings: [] },
      });
      expect(estimateTokens(context.section)).toBeLessThanOrEqual(tokenBudget);
      expect(context.chunkIds).toEqual(context.chunks.map((item) => item.id));
      expect(new Set(context.chunkIds).size).toBe(context.chunkIds.length);
      for (const id of context.chunkIds) expect(context.section).toContain(`[${id}]`);
      if (tokenBudget === 2500) {
        expect(context.chunks[0].documentId).toBe("errors-gcc-openmp");
        expect(context.chunks.every((item) => item.documentId.startsWith("cuda") === false)).toBe(true);
      }
    }
  });

  it("drops repeated ids and near-duplicate texts across providers", async () => {
    const text = "Use a warp shuffle reduction with __shfl_down_sync and offsets 16 8 4 2 1 to sum a row.";
    const first: ContextProvider = { retrieve: async () => [chunk("a#x", text), chunk("b#y", "Tile the loops for the L2 cache.")] };
    const second: ContextProvider = { retrieve: async () => [chunk("a#x", text), chunk("c#z", `${text} `)] };
    const context = await retrieveStepContext([first, second], { spec, platform: "cuda", tokenBudget: 10_000 });
    expect(context.chunkIds.sort()).toEqual(["a#x", "b#y"]);
    expect(deduplicateChunks([chunk("p#1", "alpha beta gamma delta"), chunk("q#2", "totally different words here")])).toHaveLength(2);
  });

  it("fits the budget exactly as rendered and skips a chunk too large for it", () => {
    const chunks = [chunk("big#1", "x".repeat(4000)), chunk("small#1", "short text"), chunk("small#2", "another short text")];
    const kept = fitToTokenBudget(chunks, 200);
    expect(kept.map((item) => item.id)).toEqual(["small#1", "small#2"]);
    expect(estimateTokens(promptSection(kept))).toBeLessThanOrEqual(200);
    expect(fitToTokenBudget(chunks, 10)).toEqual([]);
    expect(() => fitToTokenBudget(chunks, -1)).toThrow(RangeError);
    expect(promptSection([])).toBe("");
  });
});
