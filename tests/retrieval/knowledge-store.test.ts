import { KnowledgeStore } from "../../retrieval/knowledge-store.js";
import { UserError } from "../../core/errors.js";
import { CountingEmbedder, makeDocument, temporaryDirectory } from "./helpers.js";

// Sections longer than the chunker's merge threshold (240 characters) so each is its own chunk.
const padding = " Each section here is long enough to stand as a chunk of its own in the index.".repeat(3);
const alpha = makeDocument("alpha", `# Alpha\n\n## Blocking\nCache blocking keeps tiles of the matrix resident in L1 and L2 caches while they are reused.${padding}\n\n## Threads\nUse #pragma omp parallel for with a static schedule across rows of the output.${padding}\n`);
const beta = makeDocument("beta", "# Beta\n\n## Shuffles\nWarp reductions use __shfl_down_sync with the full mask 0xffffffff and offsets 16, 8, 4, 2, 1.\n", "cuda", "cuda");
const gamma = makeDocument("gamma", "# Gamma\n\n## Dots\nBlocked matrix products in Triton call tl.dot on tiles of at least sixteen in every dimension.\n", "triton", "triton");

describe("KnowledgeStore", () => {
  it("persists the index and reloads it without embedding again", async () => {
    const directory = temporaryDirectory();
    const first = new CountingEmbedder();
    const store = await KnowledgeStore.open({ directory, embedder: first });
    const report = await store.sync([alpha, beta, gamma]);
    expect(report.added).toBe(4);
    expect(first.embeddedTexts).toHaveLength(4);

    const second = new CountingEmbedder();
    const reloaded = await KnowledgeStore.open({ directory, embedder: second });
    expect(reloaded.size).toBe(4);
    const hits = await reloaded.search({ text: "__shfl_down_sync warp reduction", limit: 2 });
    expect(hits[0].chunk.documentId).toBe("beta");
    const again = await reloaded.sync([alpha, beta, gamma]);
    expect(again).toMatchObject({ added: 0, updated: 0, unchanged: 4, deleted: 0, embedded: 0 });
    expect(second.embeddedTexts).toHaveLength(0);
  });

  it("re-embeds only the chunks of a changed document and deletes removed ones", async () => {
    const directory = temporaryDirectory();
    const embedder = new CountingEmbedder();
    const store = await KnowledgeStore.open({ directory, embedder });
    await store.sync([alpha, beta, gamma]);
    embedder.embeddedTexts = [];

    const alphaEdited = makeDocument("alpha", alpha.body.replace("static schedule", "dynamic schedule with chunks of 16"));
    const report = await store.sync([alphaEdited, beta]);
    expect(report).toMatchObject({ added: 0, updated: 1, unchanged: 2, deleted: 1, embedded: 1 });
    expect(embedder.embeddedTexts).toHaveLength(1);
    expect(embedder.embeddedTexts[0]).toContain("dynamic schedule");

    // The removed document is gone from both rankings, also after a reload.
    const reloaded = await KnowledgeStore.open({ directory, embedder });
    const hits = await reloaded.search({ text: "tl.dot Triton matrix products", limit: 5 });
    expect(hits.map((hit) => hit.chunk.documentId)).not.toContain("gamma");
    expect(reloaded.chunks().map((chunk) => chunk.id).sort()).toEqual(["alpha#blocking", "alpha#threads", "beta#shuffles"]);
    const edited = await reloaded.search({ text: "dynamic schedule chunks", limit: 1 });
    expect(edited[0].chunk.id).toBe("alpha#threads");
    expect(edited[0].chunk.text).toContain("dynamic schedule");
  });

  it("filters by platform and language from the front-matter", async () => {
    const store = await KnowledgeStore.open({ directory: temporaryDirectory(), embedder: new CountingEmbedder() });
    await store.sync([alpha, beta, gamma]);
    const hits = await store.search({ text: "warp reduction tiles matrix", platform: "triton", limit: 5 });
    expect(hits.length).toBeGreaterThan(0);
    expect(hits.every((hit) => hit.chunk.platform.includes("triton"))).toBe(true);
    expect(await store.search({ text: "warp", platform: "cuda", language: "cpp" })).toEqual([]);
  });

  it("starts over when the index was built by another embedder", async () => {
    const directory = temporaryDirectory();
    const store = await KnowledgeStore.open({ directory, embedder: new CountingEmbedder() });
    await store.sync([alpha]);
    const { HashingEmbedder } = await import("../../retrieval/hashing-embedder.js");
    const other = await KnowledgeStore.open({ directory, embedder: new HashingEmbedder({ dimensions: 256 }) });
    expect(other.size).toBe(0);
    expect(other.resetReason).toContain("hashing-v1-128");
  });

  it("rejects an empty query and a bad limit", async () => {
    const store = await KnowledgeStore.open({ directory: temporaryDirectory(), embedder: new CountingEmbedder() });
    await store.sync([alpha]);
    await expect(store.search({ text: "  " })).rejects.toThrow(UserError);
    await expect(store.search({ text: "cache", limit: 0 })).rejects.toThrow(/limit/);
  });
});
