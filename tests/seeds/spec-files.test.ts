import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadSpecDirectory } from "../../core/spec-loader.js";
import { resolveShape, specCost } from "../../core/spec.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const specs = loadSpecDirectory(join(root, "seeds", "specs"));

describe("seed spec files", () => {
  it("holds at least twelve valid specs with unique ids", () => {
    expect(specs.length).toBeGreaterThanOrEqual(12);
    expect(new Set(specs.map((spec) => spec.id)).size).toBe(specs.length);
  });

  it.each(specs.map((spec) => [spec.id, spec] as const))("%s has two or more sizes that resolve every shape", (_id, spec) => {
    const sizes = Object.keys(spec.sizes);
    expect(sizes.length).toBeGreaterThanOrEqual(2);
    for (const size of sizes) {
      for (const tensor of [...spec.inputs, ...spec.outputs]) {
        const shape = resolveShape(tensor.shape, spec.sizes[size]);
        for (const extent of shape) expect(Number.isInteger(extent) && extent > 0).toBe(true);
      }
      const cost = specCost(spec, size);
      if (cost.bytes !== undefined) expect(cost.bytes).toBeGreaterThan(0);
    }
  });

  it.each(specs.map((spec) => [spec.id] as const))("%s has a cpu baseline and a cpu template", (id) => {
    const folder = join(root, "seeds", "kernels", "cpu", id);
    const baseline = join(folder, "baseline.cpp");
    const template = join(folder, "template.cpp");
    expect(existsSync(baseline)).toBe(true);
    expect(existsSync(template)).toBe(true);
    expect(readFileSync(baseline, "utf8")).toMatch(/extern "C" void kernel\(/);
    const templateSource = readFileSync(template, "utf8");
    expect(templateSource.startsWith("// kernelevolve:template")).toBe(true);
    expect(templateSource).toMatch(/^\/\/ param [A-Z_][A-Z0-9_]*: .+$/m);
    const declared = new Map<string, string[]>();
    for (const match of templateSource.matchAll(/^\/\/ param ([A-Z_][A-Z0-9_]*): (.+)$/gm)) {
      declared.set(match[1], match[2].split(",").map((value) => value.trim()));
    }
    const used = new Set([...templateSource.matchAll(/\{\{([A-Z_][A-Z0-9_]*)\}\}/g)].map((match) => match[1]));
    expect(used.size).toBeGreaterThan(0);
    // every placeholder is declared and every declared parameter is used, so no instance keeps a {{...}}
    expect([...used].sort()).toEqual([...declared.keys()].sort());
    for (const values of declared.values()) expect(values.every((value) => value.length > 0)).toBe(true);
    const combinations = [...declared.values()].reduce((product, values) => product * values.length, 1);
    expect(combinations).toBeGreaterThanOrEqual(2);
    expect(combinations).toBeLessThanOrEqual(256);
  });
});
