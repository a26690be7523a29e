import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { StructuredToolInterface } from "@langchain/core/tools";
import { createExfmTools } from "../../tools/exfm/index.js";
import { createAoviftTools } from "../../tools/aovift/index.js";

/** Integration test: the swap-back tools on the real Python pipelines (tiny steps), the way an agent calls them. */
const root = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const python = join(root, ".venv/bin/python");
const work = mkdtempSync(join(tmpdir(), "pipeline-swap-"));
const options = { python, pythonPath: join(root, "python"), workDirectory: work, threads: 1 };
const tools: StructuredToolInterface[] = [...createExfmTools(options), ...createAoviftTools(options)];
const call = async (name: string, args: Record<string, unknown>): Promise<string> => String(await tools.find((item) => item.name === name)!.invoke(args));
const tiny = { target: "vm", batch: 32, examples: 256 };

// Pairs (i, j) with j <= i shifted: a plausible but wrong DLRM interaction.
const WRONG_DOT = `#include <cstdint>
extern "C" void kernel(const float* f, float* out, int64_t B, int64_t F, int64_t D) {
  for (int64_t b = 0; b < B; ++b) { int64_t k = 0;
    for (int64_t i = 1; i < F; ++i) for (int64_t j = 0; j < i; ++j, ++k) { float s = 0;
      for (int64_t d = 0; d < D; ++d) s += f[(b * F + i) * D + d] * f[(b * F + j + (i > 2)) * D + d];
      out[b * (F * (F - 1) / 2) + k] = s; } }
}`;

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("pipeline swap tools", () => {
  test("exfm_swap swaps the optimised kernels in, outputs unchanged, times before and after", async () => {
    const text = await call("exfm_swap", { rounds: 1, options: tiny });
    const [summary, json] = [text.slice(0, text.indexOf("\n")), text.slice(text.indexOf("\n") + 1)];
    expect(summary).toMatch(/^Swapped exfm\.dot_interaction, exfm\.repeat_interleave into exfm: training [0-9.]+ ms -> [0-9.]+ ms \([0-9.]+x; outputs match/);
    expect(summary).toMatch(/inference [0-9.]+ ms -> [0-9.]+ ms \([0-9.]+x; outputs match/);
    const result = JSON.parse(json);
    for (const kind of ["training", "inference"]) {
      expect(result.results[kind].check.outputs_match).toBe(true);
      expect(result.results[kind].swapped_ops_in_step.sort()).toEqual(["exfm.dot_interaction", "exfm.repeat_interleave"]);
    }
    expect(result.kernels["exfm.dot_interaction"].path).toMatch(/optimised\/cpu\/exfm\.dot_interaction\.cpp$/);
  }, 300_000);

  test("a wrong kernel is refused with the reason, an unknown operator names the valid ones", async () => {
    writeFileSync(join(work, "wrong.cpp"), WRONG_DOT);
    const refused = await call("exfm_swap", { language: "none", kernels: { "exfm.dot_interaction": "wrong.cpp" }, rounds: 1, options: tiny });
    expect(refused).toMatch(/^exfm_swap failed: invalid arguments for swap: kernel .*wrong\.cpp for exfm\.dot_interaction fails the check against the torch code/);
    expect(await call("exfm_swap", { kernels: { "aovift.max_pool3d": "x.cpp" } })).toMatch(/exfm_swap: invalid arguments: kernels.*exfm\.dot_interaction/);
    expect(await call("aovift_swap", { kernels: { "aovift.max_pool3d": "../outside.cpp" } })).toMatch(/aovift_swap: invalid arguments: .*relative to the work directory/);
    expect(await call("aovift_swap", { runs: { "aovift.max_pool3d": "no-such-run" }, rounds: 1 })).toMatch(/aovift_swap failed: .*no-such-run.*no run\.sqlite/);
  }, 300_000);
});
