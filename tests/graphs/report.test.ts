import { afterAll, describe, expect, it } from "@jest/globals";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Operator } from "../../core/types.js";
import { optimize, writeRunReport, RunDatabase, collectReportData } from "../../graphs/index.js";
import { FAKE_SPEC, FakePlatform, fakeSeeds, TEMPLATE } from "./fake-platform.js";
import { builtinPolicy } from "../helpers/engine-parts.js";
import { createAutotuneOperator } from "../../agents/autotune-operator.js";
import { parseTemplate } from "../../agents/templates.js";

const root = mkdtempSync(join(tmpdir(), "kernelevolve-report-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// The autotuner, dressed up as a prompting operator so the report has prompts and chunk ids to show.
const autotune = createAutotuneOperator({ templates: [{ name: "template", language: "cpp", template: parseTemplate(TEMPLATE) }] });
const prompting: Operator = {
  id: "prompting",
  description: "autotune with recorded prompts",
  async propose(context) {
    const proposals = await autotune.propose(context);
    return proposals.map((proposal, index) => ({ ...proposal, prompt: `improve ${context.parents[0]?.id}`, reply: "ok", model: "fake-model", retrievedChunkIds: [`doc-${context.generation}#${index}`, "cpu-simd#2"] }));
  },
};

describe("run report", () => {
  it("draws every candidate coloured by status, highlights the path to the best and lists the chunks of each prompt", async () => {
    const result = await optimize({ spec: FAKE_SPEC, platform: new FakePlatform(), operator: prompting, seeds: fakeSeeds(), runsDirectory: root, budget: { candidates: 40 }, policy: builtinPolicy("tournament"), seed: 9 });
    const paths = writeRunReport(result.folder);
    const html = readFileSync(paths.html, "utf8");
    const markdown = readFileSync(paths.markdown, "utf8");
    const db = RunDatabase.open(result.folder);
    const data = collectReportData(db);
    db.close();

    const nodes = [...html.matchAll(/<circle class="node (\w+)( best-path)?" data-id="(c\d+)"[^>]*fill="(#[0-9a-f]+)"/g)];
    expect(nodes).toHaveLength(40);
    const colours: Record<string, string> = { passed: "#2e7d32", failed: "#c62828" };
    for (const [, status, , id, fill] of nodes) {
      expect(fill).toBe(colours[status]);
      expect(status).toBe(data.candidates.find((candidate) => candidate.id === id)!.status);
    }
    expect(nodes.some(([, status]) => status === "failed")).toBe(true);
    // The highlighted nodes are exactly the first-parent chain from a seed to the best.
    const highlighted = nodes.filter(([, , marker]) => marker).map(([, , , id]) => id).sort();
    expect(highlighted).toEqual([...data.bestPath].sort());
    expect(data.bestPath.at(-1)).toBe(result.best!.id);
    const first = data.candidates.find((candidate) => candidate.id === data.bestPath[0])!;
    expect(first.generation).toBe(0);
    for (let index = 1; index < data.bestPath.length; index++) {
      expect(data.candidates.find((candidate) => candidate.id === data.bestPath[index])!.parentIds[0]).toBe(data.bestPath[index - 1]);
    }
    // The speed-up chart's best line only rises and ends at the best fitness.
    expect(html).toContain('class="best-line"');
    const bests = data.timeline.map((point) => point.best);
    expect([...bests].sort((a, b) => a - b)).toEqual(bests);
    expect(bests.at(-1)).toBe(result.best!.fitness);
    // Chunks of each prompt, in both formats.
    expect(markdown).toContain("cpu-simd#2");
    expect(markdown).toMatch(/\| c\d+ \| fake-model \| doc-\d+#0, cpu-simd#2 \|/);
    expect(html).toContain("doc-1#0, cpu-simd#2");
    // Self-contained: no scripts, no external resources.
    expect(html).not.toMatch(/<script|<link|src="http|href="http/);
    expect(markdown).toContain(`best speed-up | ${result.best!.fitness.toFixed(2)}x (${result.best!.id})`);
    expect(readFileSync(paths.lineage, "utf8").startsWith("<svg")).toBe(true);
  });
});
