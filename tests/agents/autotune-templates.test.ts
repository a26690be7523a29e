import { describe, expect, it } from "@jest/globals";
import {
  defaultParams,
  enumerateInstances,
  instantiateTemplate,
  isTemplate,
  isValidParams,
  paramsKey,
  parseTemplate,
} from "../../agents/templates.js";
import { parseConstraint } from "../../agents/template-constraint.js";

const CPP = `// kernelevolve:template
// param BLOCK: 8, 16, 32, 64
// param SCHEDULE: static, dynamic
// param UNROLL: 1, 2, 4
// constraint: BLOCK * UNROLL <= 128 and not (SCHEDULE == "dynamic" and BLOCK < 16)
#include <cstdint>
extern "C" void kernel(const float* x, float* y, int64_t N) {
#pragma omp parallel for schedule({{SCHEDULE}})
  for (int64_t i = 0; i < N; i += {{BLOCK}}) { /* unroll {{ UNROLL }} */ }
}`;

describe("templates", () => {
  it("parses parameters in order with their values and whether they are ordered", () => {
    const template = parseTemplate(CPP);
    expect(template.parameters).toEqual([
      { name: "BLOCK", values: ["8", "16", "32", "64"], ordered: true },
      { name: "SCHEDULE", values: ["static", "dynamic"], ordered: false },
      { name: "UNROLL", values: ["1", "2", "4"], ordered: true },
    ]);
    expect(template.constraints.map((constraint) => constraint.text)).toHaveLength(1);
  });

  it("instantiates: placeholders replaced, header reduced to one instance line, result no longer a template", () => {
    const template = parseTemplate(CPP);
    const source = instantiateTemplate(template, { BLOCK: "32", SCHEDULE: "dynamic", UNROLL: "4" });
    expect(source).toContain("schedule(dynamic)");
    expect(source).toContain("i += 32");
    expect(source).toContain("unroll 4");
    expect(source).not.toMatch(/\{\{|param |constraint:/);
    expect(source.split("\n")[0]).toBe("// kernelevolve:instance BLOCK=32 SCHEDULE=dynamic UNROLL=4");
    expect(isTemplate(source)).toBe(false);
  });

  it("applies constraints and rejects values outside the declared lists", () => {
    const template = parseTemplate(CPP);
    expect(isValidParams(template, { BLOCK: "64", SCHEDULE: "static", UNROLL: "2" })).toBe(true);
    expect(isValidParams(template, { BLOCK: "64", SCHEDULE: "static", UNROLL: "4" })).toBe(false); // 256 > 128
    expect(isValidParams(template, { BLOCK: "8", SCHEDULE: "dynamic", UNROLL: "1" })).toBe(false);
    expect(isValidParams(template, { BLOCK: "12", SCHEDULE: "static", UNROLL: "1" })).toBe(false);
    expect(() => instantiateTemplate(template, { BLOCK: "64", SCHEDULE: "static" })).toThrow(/missing parameter 'UNROLL'/);
    const all = enumerateInstances(template);
    expect(all.every((params) => isValidParams(template, params))).toBe(true);
    // 4*2*3 = 24 combinations; BLOCK*UNROLL<=128 removes (64,4) for both schedules; dynamic with BLOCK 8 removes 3 more.
    expect(all).toHaveLength(24 - 2 - 3);
    expect(new Set(all.map(paramsKey)).size).toBe(all.length);
  });

  it("uses the first values as default and falls back to the first valid combination", () => {
    expect(defaultParams(parseTemplate(CPP))).toEqual({ BLOCK: "8", SCHEDULE: "static", UNROLL: "1" });
    const shifted = parseTemplate("# kernelevolve:template\n# param A: 1, 2, 3\n# param B: 4, 8\n# constraint: A * B >= 8\nx = {{A}} + {{B}}\n");
    expect(defaultParams(shifted)).toEqual({ A: "1", B: "8" });
    expect(instantiateTemplate(shifted, { A: "1", B: "8" })).toBe("# kernelevolve:instance A=1 B=8\nx = 1 + 8\n");
  });

  it("reports bad templates with the line and the problem", () => {
    expect(() => parseTemplate("int x;")).toThrow(/not a template/);
    expect(() => parseTemplate("// kernelevolve:template\n// param A: 1, 2\nint x = {{B}};", "t.cpp")).toThrow(/\{\{B\}\} has no 'param B/);
    expect(() => parseTemplate("// kernelevolve:template\n// param A: 1, 2\nint x = 0;")).toThrow(/'A' is declared but no/);
    expect(() => parseTemplate("// kernelevolve:template\n// param A: 1,,2\nint x = {{A}};", "t.cpp")).toThrow(/t\.cpp:2: .*empty value/);
    expect(() => parseTemplate("// kernelevolve:template\n// param A: 1, 2\n// constraint: A < C\nint x = {{A}};")).toThrow(/unknown parameter\(s\) C/);
    expect(() => parseTemplate("// kernelevolve:template\n// param A: 1, 2\n// constraint: A > 5\nint x = {{A}};")).toThrow(/no combination/);
    expect(() => parseTemplate("// kernelevolve:template\n// param A: 1, 2\n// constraint: A <\nint x = {{A}};")).toThrow(/:3: /);
  });
});

describe("template constraints (Python-like expressions)", () => {
  const check = (text: string, values: Record<string, number | string> = {}) => parseConstraint(text).test(values);
  it("follows Python precedence and semantics", () => {
    expect(check("2 + 3 * 4 == 14")).toBe(true);
    expect(check("-2 ** 2 == -4")).toBe(true);
    expect(check("2 ** 3 ** 2 == 512")).toBe(true);
    expect(check("7 // 2 == 3 and -7 // 2 == -4 and -7 % 3 == 2")).toBe(true);
    expect(check("1 < A <= 4", { A: 4 })).toBe(true);
    expect(check("1 < A <= 4", { A: 5 })).toBe(false);
    expect(check("S in ('static', 'guided')", { S: "guided" })).toBe(true);
    expect(check("S not in ['static']", { S: "static" })).toBe(false);
    expect(check("not A or B", { A: 1, B: 0 })).toBe(false);
  });
  it("rejects unknown names and syntax errors", () => {
    expect(() => check("A < 3")).toThrow(/unknown name 'A'/);
    expect(() => parseConstraint("A <")).toThrow(/unexpected end/);
    expect(() => parseConstraint("A ; B")).toThrow(/cannot parse/);
  });
});
