import { afterAll, describe, expect, it } from "@jest/globals";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AIMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { optimize, RunDatabase } from "../../graphs/index.js";
import { createModelClient } from "../../agents/models.js";
import { loadPromptTemplates } from "../../agents/prompt-builder.js";
import { createUniversalOperator } from "../../agents/universal-operator.js";
import { loadAbiDocuments } from "../../agents/llm-operator-factory.js";
import { ExperienceMemory } from "../../retrieval/experience-memory.js";
import { HashingEmbedder } from "../../retrieval/hashing-embedder.js";
import { KnowledgeStore } from "../../retrieval/knowledge-store.js";
import { loadDocuments } from "../../retrieval/load-documents.js";
import { combineProviders } from "../../retrieval/combined-provider.js";
import { repositoryRoot } from "../helpers/paths.js";
import { builtinPolicy, engineParts } from "../helpers/engine-parts.js";
import { BASELINE, FAKE_SPEC, FakePlatform, fakeSeeds } from "./fake-platform.js";

const root = mkdtempSync(join(tmpdir(), "kernelevolve-retrieval-runs-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const templates = loadPromptTemplates(join(repositoryRoot, "seeds", "prompts"), loadAbiDocuments(join(repositoryRoot, "docs")));
const faster = (tag: string) => `Unroll by four.\n\`\`\`cpp\n// ${tag}\n// kernelevolve:instance BLOCK=64 UNROLL=4 SCHEDULE=static\n${BASELINE}\`\`\``;

describe("retrieval inside optimisation runs", () => {
  it("a scripted-model run's prompts hold retrieved knowledge chunks and their ids are stored", async () => {
    const store = await KnowledgeStore.open({ directory: join(root, "docs-index"), embedder: new HashingEmbedder() });
    await store.sync(loadDocuments([join(repositoryRoot, "seeds", "docs")]));
    const model = fakeModel().respond(new AIMessage(faster("a"))).respond(new AIMessage(faster("b")));
    const operator = createUniversalOperator({ model: createModelClient(model, { id: "scripted" }), templates, concurrency: 1 });
    const result = await optimize({
      spec: FAKE_SPEC,
      platform: new FakePlatform({ capacity: 1 }),
      seeds: [fakeSeeds()[0]],
      operator,
      policy: builtinPolicy(),
      runsDirectory: join(root, "runs"),
      budget: { candidates: 3 },
      generationSize: 2,
      contextProvider: store,
    });
    const db = RunDatabase.open(result.folder);
    try {
      const written = db.candidates().filter((candidate) => candidate.operator === "llm");
      expect(written.length).toBeGreaterThan(0);
      const prompt = db.prompt(written[0].id);
      expect(prompt.chunkIds.length).toBeGreaterThan(0);
      expect(prompt.prompt).toContain("# Knowledge that may help");
      // Every stored chunk id names a document of the knowledge base.
      const documentIds = new Set(loadDocuments([join(repositoryRoot, "seeds", "docs")]).map((document) => document.metadata.id));
      for (const id of prompt.chunkIds) expect(documentIds.has(id.split("#")[0])).toBe(true);
    } finally {
      db.close();
    }
  });

  it("experience memory round-trips: run A's winning kernel is retrieved into run B's prompt", async () => {
    const memory = await ExperienceMemory.open({ directory: join(root, "experience"), embedder: new HashingEmbedder() });
    const first = await optimize({
      spec: FAKE_SPEC,
      platform: new FakePlatform({ capacity: 2 }),
      ...engineParts(fakeSeeds()),
      seeds: fakeSeeds(),
      runsDirectory: join(root, "runs"),
      budget: { candidates: 10 },
      seed: 3,
      experience: memory,
    });
    expect(first.best?.fitness ?? 0).toBeGreaterThan(1.05);
    expect(memory.size).toBeGreaterThan(0);

    // A later session opens the memory from disk, as a new process would.
    const reopened = await ExperienceMemory.open({ directory: join(root, "experience"), embedder: new HashingEmbedder() });
    const model = fakeModel().respond(new AIMessage(faster("c"))).respond(new AIMessage(faster("d")));
    const operator = createUniversalOperator({ model: createModelClient(model, { id: "scripted" }), templates, concurrency: 1 });
    const second = await optimize({
      spec: FAKE_SPEC,
      platform: new FakePlatform({ capacity: 1 }),
      seeds: [fakeSeeds()[0]],
      operator,
      policy: builtinPolicy(),
      runsDirectory: join(root, "runs"),
      budget: { candidates: 2 },
      generationSize: 1,
      contextProvider: combineProviders([reopened]),
    });
    const db = RunDatabase.open(second.folder);
    try {
      const written = db.candidates().find((candidate) => candidate.operator === "llm");
      const prompt = db.prompt(written!.id);
      expect(prompt.prompt).toContain(first.runId);
      expect(prompt.chunkIds.some((id) => id.includes(first.runId) || id.startsWith("experience"))).toBe(true);
    } finally {
      db.close();
    }
  });
});
