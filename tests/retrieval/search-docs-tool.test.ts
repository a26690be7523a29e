import { KnowledgeStore } from "../../retrieval/knowledge-store.js";
import { loadDocuments } from "../../retrieval/load-documents.js";
import { createSearchDocsTool } from "../../tools/search-docs.js";
import { main } from "../../cli/main.js";
import { createCliContext } from "../../cli/context.js";
import { SEED_DOCS, temporaryDirectory } from "./helpers.js";

function sink() {
  let text = "";
  const stream = { write: (chunk: string) => { text += chunk; return true; } } as unknown as NodeJS.WritableStream;
  return { stream, text: () => text };
}

describe("search_docs tool", () => {
  it("returns matching sections with ids, and advice when nothing matches", async () => {
    const store = await KnowledgeStore.open({ directory: temporaryDirectory() });
    await store.sync(loadDocuments([SEED_DOCS]));
    const searchDocs = createSearchDocsTool(store);
    expect(searchDocs.name).toBe("search_docs");
    const found = await searchDocs.invoke({ query: "__shfl_down_sync warp sum", platform: "cuda", limit: 2 });
    expect(found).toContain("(id: cuda-warp-shuffles#");
    expect(found).toContain("Found 2 section(s)");
    const none = await searchDocs.invoke({ query: "qwertyuiop zxcvbnm", platform: "cuda" });
    expect(none).toContain("No knowledge-base sections match");
    expect(none).toContain("without the platform filter");
    await expect(searchDocs.invoke({ query: "" } as never)).rejects.toThrow();
  });
});

describe("kernelevolve docs", () => {
  it("indexes incrementally and searches with filters and JSON output", async () => {
    const cacheDirectory = temporaryDirectory();
    const out = sink();
    const err = sink();
    const context = createCliContext({}, { cacheDirectory, stdout: out.stream as never, stderr: err.stream });
    expect(await main(["docs", "index"], context)).toBe(0);
    expect(out.text()).toMatch(/Indexed \d+ chunks .* 0 unchanged/);
    expect(await main(["docs", "index"], context)).toBe(0);
    expect(out.text()).toMatch(/0 added, 0 updated, \d+ unchanged, 0 deleted \(0 embedded/);

    const json = sink();
    const jsonContext = createCliContext({}, { cacheDirectory, stdout: json.stream as never, stderr: err.stream });
    expect(await main(["docs", "search", "tl.dot accumulator", "--platform", "triton", "--limit", "3", "--json"], jsonContext)).toBe(0);
    const rows = JSON.parse(json.text()) as { documentId: string; platform: string[] }[];
    expect(rows).toHaveLength(3);
    expect(rows[0].documentId).toBe("triton-tl-dot");
    expect(rows.every((row) => row.platform.includes("triton") || row.platform.includes("any"))).toBe(true);

    expect(await main(["docs", "search"], context)).toBe(2);
    expect(await main(["docs", "search", "x", "--limit", "zero"], context)).toBe(2);
    expect(await main(["docs", "frobnicate"], context)).toBe(2);
  });
});
