import { afterAll, describe, expect, it } from "@jest/globals";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AIMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { loadSpecFile } from "../../core/spec-loader.js";
import { optimize, RunDatabase } from "../../graphs/index.js";
import { seedFromSource } from "../../graphs/evolve/seeds.js";
import { builtinPolicy } from "../helpers/engine-parts.js";
import { createModelClient } from "../../agents/models.js";
import { loadPromptTemplates } from "../../agents/prompt-builder.js";
import { createUniversalOperator } from "../../agents/universal-operator.js";
import { loadAbiDocuments } from "../../agents/llm-operator-factory.js";
import { createCpuPlatform, RuntimeClient } from "../../platforms/index.js";
import { PYTHON, REAL_RUNTIME_PATH, realRuntimePresent } from "../platforms/helpers.js";
import { repositoryRoot } from "../helpers/paths.js";

// End to end on the real cpu platform (Python runtime, g++, sandbox) with a scripted model whose
// replies are real kernels: one does not compile, one is wrong, one is correct and fast.
const root = mkdtempSync(join(tmpdir(), "kernelevolve-llm-cpu-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const spec = loadSpecFile(join(repositoryRoot, "seeds", "specs", "row-sum-squares.yaml"));
const templates = loadPromptTemplates(join(repositoryRoot, "seeds", "prompts"), loadAbiDocuments(join(repositoryRoot, "docs")));
const fence = (code: string, plan: string) => `${plan}\n\`\`\`cpp\n${code}\`\`\`\n`;

const notCompiling = `#include <cstdint>
extern "C" void kernel(const float* x, float* y, int64_t R, int64_t C) {
  for (int64_t r = 0; r < R; ++r) y[r] = undeclared_helper(x + r * C, C);
}
`;
const wrongTail = `#include <cstdint>
extern "C" void kernel(const float* x, float* y, int64_t R, int64_t C) {
  for (int64_t r = 0; r < R; ++r) {
    float sum = 0.f;
    for (int64_t c = 0; c + 1 < C; ++c) sum += x[r * C + c] * x[r * C + c];  // drops the last column
    y[r] = sum;
  }
}
`;
// Single-threaded on purpose: under a loaded 2-core CI machine an OpenMP kernel can lose to a
// serial one, and this test is about the loop, not about threads.
const fast = `#include <cstdint>
extern "C" void kernel(const float* x, float* y, int64_t R, int64_t C) {
  for (int64_t r = 0; r < R; ++r) {
    const float* row = x + r * C;
    float a0 = 0.f, a1 = 0.f, a2 = 0.f, a3 = 0.f, a4 = 0.f, a5 = 0.f, a6 = 0.f, a7 = 0.f;
    int64_t c = 0;
    for (; c + 8 <= C; c += 8) {
      a0 += row[c] * row[c]; a1 += row[c + 1] * row[c + 1]; a2 += row[c + 2] * row[c + 2]; a3 += row[c + 3] * row[c + 3];
      a4 += row[c + 4] * row[c + 4]; a5 += row[c + 5] * row[c + 5]; a6 += row[c + 6] * row[c + 6]; a7 += row[c + 7] * row[c + 7];
    }
    for (; c < C; ++c) a0 += row[c] * row[c];
    y[r] = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7));
  }
}
`;
// The seed walks the matrix column by column (4 KiB stride, one dependent add chain per row): a
// naive kernel that is slow by a wide margin, so "improved on the seed" does not hinge on noise.
const naive = `#include <cstdint>
extern "C" void kernel(const float* x, float* y, int64_t R, int64_t C) {
  for (int64_t r = 0; r < R; ++r) y[r] = 0.f;
  for (int64_t c = 0; c < C; ++c)
    for (int64_t r = 0; r < R; ++r) y[r] += x[r * C + c] * x[r * C + c];
}
`;

const describeReal = realRuntimePresent() ? describe : describe.skip;

describeReal("an LLM-driven run on the real cpu platform", () => {
  it("learns from a compile error and a wrong kernel through its prompts, improves, and stops at its budget", async () => {
    const model = fakeModel()
      .respond(new AIMessage(fence(notCompiling, "Use a helper.")))
      .respond(new AIMessage(fence(wrongTail, "Plain float accumulation.")))
      .respond(new AIMessage(fence(fast, "Row-major walk with eight independent accumulators.")))
      .respond(new AIMessage(fence(fast.replace("const float* row", "const float* __restrict row"), "Restrict the row pointer.")));
    const operator = createUniversalOperator({ model: createModelClient(model, { id: "scripted" }), templates, concurrency: 1 });
    const platform = createCpuPlatform({ client: new RuntimeClient({ python: PYTHON, pythonPath: REAL_RUNTIME_PATH, cwd: repositoryRoot, compileCacheDirectory: join(root, "cache") }) });
    try {
      const result = await optimize({
        spec,
        platform,
        operator,
        policy: builtinPolicy(),
        seeds: [seedFromSource("baseline", "cpp", naive)],
        runsDirectory: join(root, "runs"),
        budget: { candidates: 5 },
        generationSize: 1,
        evaluation: { sizes: ["medium"], trials: 2, minTimeMs: 150, warmup: 2 },
      });
      const db = RunDatabase.open(result.folder);
      try {
        const candidates = db.candidates().sort((a, b) => a.id.localeCompare(b.id));
        const [seed, broken, wrong, good] = candidates;
        expect(candidates).toHaveLength(5);
        expect(seed.status).toBe("passed");
        expect(broken.result?.reason).toBe("compile_error");
        expect(broken.result?.log).toContain("undeclared_helper");
        expect(wrong.result?.reason).toBe("wrong_output");
        expect(good.status).toBe("passed");
        // Each later prompt carries what went wrong before: the failed siblings of the same parent
        // (compare-siblings), with their failure reasons, and the parent's own timings.
        expect(db.prompt(broken.id).prompt).toContain("speed-up");
        expect(db.prompt(wrong.id).prompt).toContain("compile_error");
        expect(db.prompt(good.id).prompt).toContain("wrong_output");
        // It improved on the naive seed, and stopped at its candidate budget (seed + 4 model replies).
        expect(good.fitness).toBeGreaterThan(seed.fitness);
        expect(result.best?.id).not.toBe(seed.id);
        expect(result.reason).toBe("budget");
      } finally {
        db.close();
      }
    } finally {
      await platform.close();
    }
  });
});
