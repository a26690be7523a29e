/** The shared cases of tests/contract/spec-sizes.json: the TypeScript side of the size rules (pytest runs the Python side). */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { evaluationPlan, largestSize, raggedDimensions, representativeSizes } from "../../core/spec-sizes.js";
import { KernelSpecSchema } from "../../core/spec.js";

type Case = {
  name: string;
  spec: Parameters<typeof largestSize>[0];
  requested: string[] | null;
  expected: { largest: string; representative: string[]; ragged: Record<string, number> | null; checked: string[]; timed: string[]; flags: string[] };
};

const cases: Case[] = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), "spec-sizes.json"), "utf8"));

describe("spec size rules shared with the Python runtime", () => {
  it("has cases", () => expect(cases.length).toBeGreaterThan(8));
  it.each(cases.map((entry) => [entry.name, entry] as const))("%s is a valid spec (pytest normalises the same data)", (_name, entry) => {
    const result = KernelSpecSchema.safeParse({ id: "case", description: "a size case", category: "case", reference: "def reference(*args): pass", ...entry.spec });
    expect(result.success ? [] : result.error.issues).toEqual([]);
  });
  it.each(cases.map((entry) => [entry.name, entry] as const))("%s", (_name, entry) => {
    expect(largestSize(entry.spec)).toBe(entry.expected.largest);
    expect(representativeSizes(entry.spec)).toEqual(entry.expected.representative);
    expect(raggedDimensions(entry.spec) ?? null).toEqual(entry.expected.ragged);
    const plan = evaluationPlan(entry.spec, entry.requested ?? undefined);
    expect(plan).toEqual({ checked: entry.expected.checked, timed: entry.expected.timed, flags: entry.expected.flags });
  });
  it("never produces an extent that is a multiple of 8 from one of at least 8", () => {
    for (const entry of cases) {
      const ragged = raggedDimensions(entry.spec);
      if (!ragged || entry.spec.raggedSize || entry.spec.sizes.ragged) continue;
      const structural = new Set(entry.spec.kernelbench?.structural ?? []);
      for (const [name, value] of Object.entries(ragged)) if (value >= 8 && !structural.has(name)) expect(value % 2).toBe(1);
    }
  });
});
