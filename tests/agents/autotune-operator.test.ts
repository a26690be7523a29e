import { describe, expect, it } from "@jest/globals";
import { createAutotuneOperator, type NamedTemplate } from "../../agents/autotune-operator.js";
import { enumerateInstances, instantiateTemplate, paramsKey, parseTemplate, type TemplateParams } from "../../agents/templates.js";
import { sourceHash } from "../../core/source-hash.js";
import type { CandidateRecord, MemoryMode, OperatorContext } from "../../core/types.js";
import type { KernelSpec } from "../../core/spec.js";

const SOURCE = `// kernelevolve:template
// param BLOCK: 8, 16, 32, 64, 128
// param SCHEDULE: static, dynamic, guided
// param UNROLL: 1, 2, 4
// constraint: BLOCK * UNROLL <= 256
extern "C" void kernel() { /* {{BLOCK}} {{SCHEDULE}} {{UNROLL}} */ }`;
const named: NamedTemplate = { name: "template", language: "cpp", template: parseTemplate(SOURCE) };

function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value ^= value + Math.imul(value ^ (value >>> 7), 61 | value);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

let counter = 0;
function candidate(params: TemplateParams | undefined, fitness: number, source?: string): CandidateRecord {
  return {
    id: `c${++counter}`,
    runId: "r",
    generation: 1,
    parentIds: [],
    operator: "autotune",
    language: "cpp",
    source: source ?? instantiateTemplate(named.template, params!),
    params,
    status: "passed",
    fitness,
    createdAt: 0,
  };
}

function context(parents: CandidateRecord[], memoryMode: MemoryMode, count: number, extra: Partial<OperatorContext> = {}): OperatorContext {
  return {
    spec: {} as KernelSpec,
    platform: { id: "cpu", language: "cpp" },
    generation: 2,
    parents,
    siblings: [],
    elites: [],
    memoryMode,
    count,
    random: seededRandom(7),
    seen: new Set(parents.map((parent) => sourceHash("cpp", parent.source))),
    ...extra,
  };
}

const operator = createAutotuneOperator({ templates: [named], restartProbability: 0 });

describe("autotune operator", () => {
  it("moves one or two parameters of the parent to neighbouring values and says which", async () => {
    const parent = candidate({ BLOCK: "32", SCHEDULE: "static", UNROLL: "2" }, 1.5);
    const proposals = await operator.propose(context([parent], "inherit", 8));
    expect(proposals).toHaveLength(8);
    for (const proposal of proposals) {
      const changed = Object.keys(proposal.params!).filter((name) => proposal.params![name] !== parent.params![name]);
      expect(changed.length).toBeGreaterThanOrEqual(1);
      expect(changed.length).toBeLessThanOrEqual(2);
      for (const name of changed.filter((name) => name !== "SCHEDULE")) {
        const values = named.template.parameters.find((parameter) => parameter.name === name)!.values;
        expect(Math.abs(values.indexOf(proposal.params![name]) - values.indexOf(parent.params![name]))).toBe(1);
      }
      expect(proposal.strategy).toBe(changed.map((name) => `${name} ${parent.params![name]}->${proposal.params![name]}`).join(", "));
      expect(proposal.source).toBe(instantiateTemplate(named.template, proposal.params!));
      expect(proposal.parentIds).toEqual([parent.id]);
    }
    expect(new Set(proposals.map((proposal) => proposal.source)).size).toBe(8);
  });

  it("never proposes a seen instance and stops when the space is exhausted", async () => {
    const all = enumerateInstances(named.template);
    const parent = candidate(all[0], 1);
    const left = all.slice(-3);
    const seen = new Set(all.filter((params) => !left.includes(params)).map((params) => sourceHash("cpp", instantiateTemplate(named.template, params))));
    const proposals = await operator.propose(context([parent], "inherit", 10, { seen }));
    expect(proposals.map((proposal) => paramsKey(proposal.params!)).sort()).toEqual(left.map(paramsKey).sort());
    expect(seen.size).toBe(all.length);
  });

  it("combine takes every parameter from one of the two parents", async () => {
    const first = candidate({ BLOCK: "8", SCHEDULE: "static", UNROLL: "1" }, 1);
    const second = candidate({ BLOCK: "64", SCHEDULE: "guided", UNROLL: "4" }, 2);
    const proposals = await operator.propose(context([first, second], "combine", 4));
    expect(proposals.length).toBe(4);
    for (const proposal of proposals) {
      for (const name of ["BLOCK", "SCHEDULE", "UNROLL"]) expect([first.params![name], second.params![name]]).toContain(proposal.params![name]);
      expect(proposal.parentIds).toEqual([first.id, second.id]);
      expect(proposal.strategy).toMatch(/^crossover/);
    }
  });

  it("compare-siblings continues the move of the sibling that improved on the parent", async () => {
    const parent = candidate({ BLOCK: "16", SCHEDULE: "static", UNROLL: "1" }, 1);
    const better = candidate({ BLOCK: "32", SCHEDULE: "static", UNROLL: "1" }, 1.4);
    const worse = candidate({ BLOCK: "8", SCHEDULE: "static", UNROLL: "1" }, 0.7);
    const [proposal] = await operator.propose(
      context([parent], "compare-siblings", 1, { siblings: [worse, better], seen: new Set([parent, better, worse].map((c) => sourceHash("cpp", c.source))) }),
    );
    expect(proposal.params).toEqual({ BLOCK: "64", SCHEDULE: "static", UNROLL: "1" });
    expect(proposal.parentIds).toEqual([parent.id, better.id]);
  });

  it("restarts anywhere in the space when asked, and from the template when the parent is not an instance", async () => {
    const parent = candidate({ BLOCK: "8", SCHEDULE: "static", UNROLL: "1" }, 1);
    const restarted = await operator.propose(context([parent], "restart", 6));
    const far = restarted.filter((proposal) => Object.keys(proposal.params!).filter((name) => proposal.params![name] !== parent.params![name]).length === 3);
    expect(far.length).toBeGreaterThan(0);
    expect(restarted.every((proposal) => proposal.strategy!.startsWith("restart: "))).toBe(true);
    const baseline = candidate(undefined, 1, 'extern "C" void kernel() {}');
    const fromBaseline = await operator.propose(context([baseline], "inherit", 2));
    expect(fromBaseline).toHaveLength(2);
    expect(fromBaseline[0].parentIds).toEqual([baseline.id]);
    expect(fromBaseline[0].strategy).toMatch(/^restart: /);
    expect(fromBaseline[0].source).toContain("kernelevolve:instance");
    // With a known instance among the elites, a non-instance parent leads to tuning around that instance.
    const instance = candidate({ BLOCK: "32", SCHEDULE: "static", UNROLL: "2" }, 0.9);
    const aroundElite = await operator.propose(context([baseline], "inherit", 3, { elites: [baseline, instance] }));
    for (const proposal of aroundElite) {
      expect(proposal.parentIds).toEqual([instance.id]);
      expect(proposal.strategy).toMatch(new RegExp(`\\(from best instance ${instance.id}\\)$`));
      const changed = Object.keys(proposal.params!).filter((name) => proposal.params![name] !== instance.params![name]);
      expect(changed.length).toBeGreaterThanOrEqual(1);
      expect(changed.length).toBeLessThanOrEqual(2);
    }
  });

  it("is reproducible for a given random seed", async () => {
    const parent = candidate({ BLOCK: "32", SCHEDULE: "dynamic", UNROLL: "2" }, 1);
    const first = await operator.propose(context([parent], "inherit", 5));
    const second = await operator.propose(context([parent], "inherit", 5));
    expect(first.map((proposal) => proposal.strategy)).toEqual(second.map((proposal) => proposal.strategy));
  });

  it("refuses to start without a template", () => {
    expect(() => createAutotuneOperator({ templates: [] })).toThrow(/at least one template/);
  });
});
