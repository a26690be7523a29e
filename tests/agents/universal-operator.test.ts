import { join } from "node:path";
import { repositoryRoot } from "../helpers/paths.js";
import { AIMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { loadSpecFile } from "../../core/spec-loader.js";
import type { CandidateRecord, ContextProvider, OperatorContext } from "../../core/types.js";
import { createModelClient, createOpenAIChatModel } from "../../agents/models.js";
import { loadPromptTemplates } from "../../agents/prompt-builder.js";
import { createUniversalOperator } from "../../agents/universal-operator.js";
import { loadAbiDocuments } from "../../agents/llm-operator-factory.js";
import { startFakeOpenAIServer } from "../helpers/fake-openai-server.js";

const root = repositoryRoot;
const spec = loadSpecFile(join(root, "seeds", "specs", "layernorm.yaml"));
const templates = loadPromptTemplates(join(root, "seeds", "prompts"), loadAbiDocuments(join(root, "docs")));
const goodKernel = 'extern "C" void kernel(const float* x, const float* w, const float* b, float* y, int64_t R, int64_t D, double eps) {}\n';

function parent(overrides: Partial<CandidateRecord> = {}): CandidateRecord {
  return {
    id: "c-parent",
    runId: "r",
    generation: 1,
    parentIds: [],
    operator: "llm",
    language: "cpp",
    source: goodKernel,
    status: "failed",
    fitness: 0,
    createdAt: 0,
    result: {
      status: "failed",
      stage: "correctness",
      reason: "wrong_output",
      message: "output y differs from the reference",
      log: "",
      platform: "cpu",
      staticFindings: [],
      trials: [],
      timings: [],
      flags: [],
      durations: {},
      mismatch: { size: "small", output: "y", mismatched: 3, total: 231, firstIndex: [6, 32], expected: 0.5, actual: 0.25, maxAbsError: 0.25 },
    },
    ...overrides,
  };
}

function context(overrides: Partial<OperatorContext> = {}): OperatorContext {
  return {
    spec,
    platform: { id: "cpu", language: "cpp", profile: { platform: "cpu", device: "Test CPU", cores: 2, simd: ["avx2", "fma"], notes: [] } },
    generation: 2,
    parents: [parent()],
    siblings: [],
    elites: [],
    memoryMode: "inherit",
    count: 1,
    random: () => 0.5,
    seen: new Set(),
    ...overrides,
  };
}

describe("universal operator", () => {
  test("the prompt carries the spec, the ABI, the hardware, the parent's code and its mismatch feedback", async () => {
    const model = fakeModel().respond(new AIMessage(`Fix the tail.\n\`\`\`cpp\n${goodKernel}\`\`\``));
    const operator = createUniversalOperator({ model: createModelClient(model, { id: "fake" }), templates });
    const [proposal] = await operator.propose(context());
    expect(proposal.failure).toBeUndefined();
    expect(proposal.source).toBe(goodKernel);
    expect(proposal.parentIds).toEqual(["c-parent"]);
    expect(proposal.prompt).toContain("layer_norm");
    expect(proposal.prompt).toContain('extern "C"');
    expect(proposal.prompt).toContain("avx2");
    expect(proposal.prompt).toContain("first at index [6, 32]: expected 0.5, got 0.25");
    expect(proposal.prompt).toContain(goodKernel.trim());
    expect(proposal.strategy).toContain("Fix the tail.");
  });

  test("restart drops the parent's code and lists the strategies tried", async () => {
    const model = fakeModel().respond(new AIMessage(`\`\`\`cpp\n${goodKernel}\`\`\``));
    const operator = createUniversalOperator({ model: createModelClient(model, { id: "fake" }), templates });
    const elite = parent({ id: "c-elite", status: "passed", fitness: 1.4, strategy: "row-blocked AVX2" });
    const [proposal] = await operator.propose(context({ memoryMode: "restart", elites: [elite] }));
    expect(proposal.prompt).toContain("row-blocked AVX2");
    expect(proposal.prompt).toContain("stagnated");
    expect(proposal.prompt).not.toContain("# Parent kernel");
  });

  test("retrieved chunks go into the prompt and their ids are recorded", async () => {
    const queries: string[] = [];
    const provider: ContextProvider = {
      retrieve: async (query) => {
        queries.push(query.text);
        return [{ id: "cpu-simd#2", documentId: "cpu-simd", title: "AVX2 horizontal sums", text: "Use _mm256_hadd_ps sparingly.", score: 1, source: "docs" }];
      },
    };
    const model = fakeModel().respond(new AIMessage(`\`\`\`cpp\n${goodKernel}\`\`\``));
    const operator = createUniversalOperator({ model: createModelClient(model, { id: "fake" }), templates });
    const [proposal] = await operator.propose(context({ context: provider }));
    expect(proposal.retrievedChunkIds).toEqual(["cpu-simd#2"]);
    expect(proposal.prompt).toContain("_mm256_hadd_ps");
    // The parent failed with wrong_output: one query is about that failure, another about the op.
    expect(queries.some((text) => /mismatch|wrong output/i.test(text))).toBe(true);
    expect(queries.some((text) => /layer/i.test(text))).toBe(true);
  });

  test("a reply without code from the real client is a failed proposal with the reason", async () => {
    const server = await startFakeOpenAIServer([{ text: "I would use tiling here, but I am not sure." }]);
    try {
      const client = createModelClient(createOpenAIChatModel({ name: "m", baseUrl: server.baseUrl, apiKey: "k" }), { id: "m", retry: { attempts: 1 } });
      const operator = createUniversalOperator({ model: client, templates });
      const [proposal] = await operator.propose(context());
      expect(proposal.failure).toMatch(/no usable code/);
      expect(proposal.tokens?.output).toBeGreaterThan(0);
      expect(server.requests[0].messages[1].content).toContain("# Specification: layernorm");
    } finally {
      await server.close();
    }
  });

  test("a model that keeps failing yields failed proposals, not an exception", async () => {
    const model = fakeModel().respond(new Error("invalid api key"));
    const operator = createUniversalOperator({ model: createModelClient(model, { id: "fake", retry: { attempts: 1 } }), templates });
    const [proposal] = await operator.propose(context());
    expect(proposal.failure).toMatch(/model call failed/);
  });
});
