import { readFileSync } from "node:fs";
import { KnowledgeStore } from "../../retrieval/knowledge-store.js";
import { loadDocuments } from "../../retrieval/load-documents.js";
import { evaluateRetrieval, parseLabelledQueries } from "../../retrieval/evaluation.js";
import { SEED_DOCS, temporaryDirectory } from "./helpers.js";

let store: KnowledgeStore;

beforeAll(async () => {
  store = await KnowledgeStore.open({ directory: temporaryDirectory() });
  await store.sync(loadDocuments([SEED_DOCS]));
});

async function topDocuments(text: string, platform?: string, count = 3): Promise<string[]> {
  const hits = await store.search({ text, platform, limit: 10 });
  return [...new Set(hits.map((hit) => hit.chunk.documentId))].slice(0, count);
}

describe("search quality on seeds/docs", () => {
  it("finds the Triton error catalogue from a compile error message", async () => {
    const log = `triton.compiler.errors.CompilationError: at 7:13:
    offsets = tl.arange(0, D)
             ^
ValueError("arange's range must be a power of 2")`;
    expect((await topDocuments(log, "triton", 1))[0]).toBe("triton-compile-errors");
  });

  it("finds the warp-shuffle note for __shfl_down_sync and the GEMM note for tl.dot", async () => {
    expect((await topDocuments("__shfl_down_sync"))[0]).toBe("cuda-warp-shuffles");
    expect((await topDocuments("tl.dot"))[0]).toBe("triton-tl-dot");
    expect((await topDocuments("#pragma omp schedule"))[0]).toBe("cpu-openmp-scheduling");
  });

  it("reaches recall@5 >= 0.9 on the labelled query set", async () => {
    const queries = parseLabelledQueries(JSON.parse(readFileSync(new URL("./queries.json", import.meta.url), "utf8")));
    expect(queries.length).toBeGreaterThanOrEqual(40);
    const quality = await evaluateRetrieval(store, queries, 5);
    if (quality.recallAtK < 0.9) console.error(JSON.stringify(quality.misses, null, 2));
    expect(quality.recallAtK).toBeGreaterThanOrEqual(0.9);
    expect(quality.meanReciprocalRank).toBeGreaterThan(0.75);
  });

  it("does not find what is not there", async () => {
    const quality = await evaluateRetrieval(store, [{ query: "__shfl_down_sync", relevant: ["op-fft"] }], 1);
    expect(quality.recallAtK).toBe(0);
    expect(quality.misses[0].got[0]).toBe("cuda-warp-shuffles");
  });
});
