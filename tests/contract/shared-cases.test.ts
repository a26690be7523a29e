/**
 * The shared cases of tests/contract/shared-cases.json, TypeScript side (tests/python/test_contract.py runs the
 * same file against the Python runtime): template parsing and instantiation, constraint expressions, shape
 * expressions, spec defaults and errors, protocol requests.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { parseConstraint } from "../../agents/template-constraint.js";
import { defaultParams, enumerateInstances, instantiateTemplate, parseTemplate, spaceSize, typedValue } from "../../agents/templates.js";
import { RuntimeRequestSchema } from "../../core/protocol.js";
import { evaluateShapeExpression, shapeExpressionIdentifiers } from "../../core/shape-expression.js";
import { sourceHash } from "../../core/source-hash.js";
import { KernelSpecSchema } from "../../core/spec.js";

type FieldError = { path: string; mentions: string };
type TemplateCase = {
  name: string;
  language: string;
  source: string;
  error?: string;
  parameters?: Record<string, string[]>;
  combinations?: number;
  allowed?: number;
  default?: Record<string, string>;
  instances?: { params: Record<string, string>; text?: string; hash?: string; error?: string }[];
};
type Cases = {
  templates: TemplateCase[];
  constraints: { expression: string; values: Record<string, string>; allowed?: boolean; error?: true }[];
  shapeExpressions: { expression: string; values: Record<string, number>; result?: number; error?: string; identifiers: string[] | null }[];
  specs: { name: string; spec: unknown; expected?: unknown; error?: FieldError }[];
  requests: { name: string; request: unknown; params?: unknown; error?: FieldError }[];
};

const cases: Cases = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), "shared-cases.json"), "utf8"));
const named = <T extends { name: string }>(list: T[]) => list.map((entry) => [entry.name, entry] as const);

/** The zod issues of a failed parse as {path: dotted, message}. */
function issues(schema: z.ZodTypeAny, value: unknown): { path: string; message: string }[] {
  const result = schema.safeParse(value);
  return result.success ? [] : result.error.issues.map((issue) => ({ path: issue.path.join("."), message: issue.message }));
}

function expectFieldError(found: { path: string; message: string }[], expected: FieldError) {
  expect(found).toEqual(expect.arrayContaining([{ path: expected.path, message: expect.stringContaining(expected.mentions) }]));
}

describe("shared contract cases (TypeScript side)", () => {
  describe("templates", () => {
    it.each(named(cases.templates))("%s", (_name, entry) => {
      if (entry.error) {
        expect(() => parseTemplate(entry.source, "case")).toThrow(entry.error);
        return;
      }
      const template = parseTemplate(entry.source, "case");
      expect(Object.fromEntries(template.parameters.map((parameter) => [parameter.name, parameter.values]))).toEqual(entry.parameters);
      expect(spaceSize(template)).toBe(entry.combinations);
      expect(enumerateInstances(template).length).toBe(entry.allowed);
      expect(defaultParams(template)).toEqual(entry.default);
      for (const instance of entry.instances ?? []) {
        if (instance.error) {
          expect(() => instantiateTemplate(template, instance.params)).toThrow(instance.error);
          continue;
        }
        const text = instantiateTemplate(template, instance.params);
        expect(text).toBe(instance.text);
        expect(sourceHash(entry.language, text)).toBe(instance.hash);
      }
    });
  });

  describe("constraint expressions", () => {
    it.each(cases.constraints.map((entry) => [`${entry.expression} with ${JSON.stringify(entry.values)}`, entry] as const))("%s", (_name, entry) => {
      const values = Object.fromEntries(Object.entries(entry.values).map(([name, value]) => [name, typedValue(value)]));
      if (entry.error) {
        expect(() => parseConstraint(entry.expression).test(values)).toThrow();
        return;
      }
      expect(parseConstraint(entry.expression).test(values)).toBe(entry.allowed);
    });
  });

  describe("shape expressions", () => {
    it.each(cases.shapeExpressions.map((entry) => [entry.expression, entry] as const))("%s", (_name, entry) => {
      if (entry.identifiers === null) expect(() => shapeExpressionIdentifiers(entry.expression)).toThrow(entry.error);
      else expect(shapeExpressionIdentifiers(entry.expression)).toEqual(entry.identifiers);
      if (entry.error !== undefined) expect(() => evaluateShapeExpression(entry.expression, entry.values)).toThrow(entry.error);
      else expect(evaluateShapeExpression(entry.expression, entry.values)).toBe(entry.result);
    });
  });

  describe("specs: defaults and errors", () => {
    it.each(named(cases.specs))("%s", (_name, entry) => {
      if (entry.error) expectFieldError(issues(KernelSpecSchema, entry.spec), entry.error);
      else expect(KernelSpecSchema.parse(entry.spec)).toEqual(entry.expected);
    });
  });

  describe("protocol requests", () => {
    it.each(named(cases.requests))("%s", (_name, entry) => {
      if (entry.error) expectFieldError(issues(RuntimeRequestSchema, entry.request), entry.error);
      else expect(RuntimeRequestSchema.parse(entry.request).params).toEqual(entry.params);
    });
  });
});
