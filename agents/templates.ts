import { UserError } from "../core/errors.js";
import { parseConstraint, type Constraint, type ConstraintValue } from "./template-constraint.js";

/**
 * Kernel templates for the autotune operator (format: docs/abi-cpu.md). A template is a seed
 * kernel whose comment header declares parameters; `{{NAME}}` placeholders take one value each.
 * The Python runtime has its own reader of the same format (python/kernelevolve_runtime/contract/templates.py);
 * both must agree on what an instance is, to the byte: tests/contract/shared-cases.json holds the cases both run.
 */

/** One declared parameter; `values[0]` is the default. */
export interface TemplateParameter {
  name: string;
  values: string[];
  /** True when every value is a number, so "neighbour" means the next larger or smaller value. */
  ordered: boolean;
}

export interface KernelTemplate {
  source: string;
  parameters: TemplateParameter[];
  constraints: Constraint[];
}

export type TemplateParams = Record<string, string>;

const MARKER = /^\s*(?:\/\/|#)\s*kernelevolve:template\s*$/;
const PARAM = /^\s*(?:\/\/|#)\s*param\s+([^:]*?)\s*:\s*(.*)$/;
const CONSTRAINT = /^\s*(?:\/\/|#)\s*constraint\s*:\s*(.*)$/;
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** True when a source declares itself a template (has the `kernelevolve:template` marker line). */
export function isTemplate(source: string): boolean {
  return lines(source).some(({ text }) => MARKER.test(text));
}

/** The source's lines, each without its line ending; `ending` is "\r" for a CRLF line so it can be written back. */
function lines(source: string): { text: string; ending: string }[] {
  return source.split("\n").map((line) => (line.endsWith("\r") ? { text: line.slice(0, -1), ending: "\r" } : { text: line, ending: "" }));
}

/** A parameter value as constraints see it: a plain decimal number (optionally signed, with a fraction or exponent) is a number, anything else a string. */
export function typedValue(value: string): ConstraintValue {
  return /^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(value) ? Number(value) : value;
}

/** Parses a template's header; throws a UserError naming `origin` and the bad line. */
export function parseTemplate(source: string, origin = "template"): KernelTemplate {
  if (!isTemplate(source)) throw new UserError("invalid_template", `${origin}: not a template (no 'kernelevolve:template' line)`);
  const parameters: TemplateParameter[] = [];
  const constraints: Constraint[] = [];
  lines(source).forEach(({ text: line }, index) => {
    const where = `${origin}:${index + 1}`;
    const param = PARAM.exec(line);
    if (param) {
      const [, name, list] = param;
      if (!IDENTIFIER.test(name)) throw new UserError("invalid_template", `${where}: parameter name '${name}' is not an identifier`);
      if (parameters.some((existing) => existing.name === name)) throw new UserError("invalid_template", `${where}: parameter '${name}' declared twice`);
      const values = list.split(",").map((value) => value.trim());
      if (values.some((value) => value === "")) throw new UserError("invalid_template", `${where}: parameter '${name}' has an empty value in '${list}'`);
      if (new Set(values).size !== values.length) throw new UserError("invalid_template", `${where}: parameter '${name}' repeats a value`);
      parameters.push({ name, values, ordered: values.every((value) => typeof typedValue(value) === "number") });
      return;
    }
    const constraint = CONSTRAINT.exec(line);
    if (constraint) {
      try {
        constraints.push(parseConstraint(constraint[1]));
      } catch (error) {
        throw new UserError("invalid_template", `${where}: ${(error as Error).message}`);
      }
    }
  });
  if (parameters.length === 0) throw new UserError("invalid_template", `${origin}: a template must declare at least one 'param NAME: v1, v2' line`);
  const declared = new Set(parameters.map((parameter) => parameter.name));
  const used = new Set([...source.matchAll(PLACEHOLDER)].map((match) => match[1]));
  for (const name of used) {
    if (!declared.has(name)) throw new UserError("invalid_template", `${origin}: placeholder {{${name}}} has no 'param ${name}: ...' line`);
  }
  for (const name of declared) {
    if (!used.has(name)) throw new UserError("invalid_template", `${origin}: parameter '${name}' is declared but no {{${name}}} uses it`);
  }
  for (const constraint of constraints) {
    const unknown = constraint.names.filter((name) => !declared.has(name));
    if (unknown.length) throw new UserError("invalid_template", `${origin}: constraint '${constraint.text}' names unknown parameter(s) ${unknown.join(", ")}`);
  }
  const template: KernelTemplate = { source, parameters, constraints };
  if (spaceSize(template) <= 1_000_000 && enumerateInstances(template, 1).length === 0) {
    throw new UserError("invalid_template", `${origin}: no combination of parameter values satisfies the constraints`);
  }
  return template;
}

/** Why a parameter assignment is not an instance of the template, or undefined when it is. */
export function paramsProblem(template: KernelTemplate, params: TemplateParams): string | undefined {
  for (const parameter of template.parameters) {
    const value = params[parameter.name];
    if (value === undefined) return `missing parameter '${parameter.name}'`;
    if (!parameter.values.includes(value)) return `'${value}' is not a value of '${parameter.name}' (${parameter.values.join(", ")})`;
  }
  const extra = Object.keys(params).filter((name) => !template.parameters.some((parameter) => parameter.name === name));
  if (extra.length) return `unknown parameter(s) ${extra.join(", ")}`;
  const typed = Object.fromEntries(Object.entries(params).map(([name, value]) => [name, typedValue(value)]));
  for (const constraint of template.constraints) {
    let allowed: boolean;
    try {
      allowed = constraint.test(typed);
    } catch (error) {
      return `constraint '${constraint.text}' cannot be evaluated: ${(error as Error).message}`;
    }
    if (!allowed) return `violates constraint '${constraint.text}'`;
  }
  return undefined;
}

/** True when the params name one allowed value for every parameter and satisfy every constraint. */
export function isValidParams(template: KernelTemplate, params: TemplateParams): boolean {
  return paramsProblem(template, params) === undefined;
}

/** A stable text key of an assignment, e.g. "BLOCK=32,SCHEDULE=static". */
export function paramsKey(params: TemplateParams): string {
  return Object.keys(params)
    .sort()
    .map((name) => `${name}=${params[name]}`)
    .join(",");
}

/** The number of combinations before constraints. */
export function spaceSize(template: KernelTemplate): number {
  return template.parameters.reduce((product, parameter) => product * parameter.values.length, 1);
}

/** Valid assignments in lexicographic order of value positions, the first one being all defaults. */
export function enumerateInstances(template: KernelTemplate, limit = Number.POSITIVE_INFINITY): TemplateParams[] {
  const found: TemplateParams[] = [];
  const positions = template.parameters.map(() => 0);
  const total = spaceSize(template);
  for (let counter = 0; counter < total && found.length < limit; counter++) {
    const params = Object.fromEntries(template.parameters.map((parameter, index) => [parameter.name, parameter.values[positions[index]]]));
    if (isValidParams(template, params)) found.push(params);
    // Odometer increment, last parameter fastest.
    for (let index = positions.length - 1; index >= 0; index--) {
      positions[index]++;
      if (positions[index] < template.parameters[index].values.length) break;
      positions[index] = 0;
    }
  }
  return found;
}

/** The default instance: every parameter's first value, or the first valid combination when that breaks a constraint. */
export function defaultParams(template: KernelTemplate): TemplateParams {
  const [first] = enumerateInstances(template, 1);
  if (!first) throw new UserError("invalid_template", "no combination of parameter values satisfies the constraints");
  return first;
}

/**
 * Replaces every placeholder by its value and the template header by one `kernelevolve:instance`
 * line, so an instance is a plain kernel (not itself a template) that still says where it came from.
 */
export function instantiateTemplate(template: KernelTemplate, params: TemplateParams): string {
  const problem = paramsProblem(template, params);
  if (problem) throw new UserError("invalid_params", `cannot instantiate template: ${problem}`);
  const kept: string[] = [];
  for (const { text: line, ending } of lines(template.source)) {
    const marker = MARKER.exec(line);
    if (marker) {
      const prefix = line.trimStart().startsWith("#") ? "#" : "//";
      kept.push(`${prefix} kernelevolve:instance ${template.parameters.map((parameter) => `${parameter.name}=${params[parameter.name]}`).join(" ")}${ending}`);
      continue;
    }
    if (PARAM.test(line) || CONSTRAINT.test(line)) continue;
    kept.push(line.replace(PLACEHOLDER, (_, name: string) => params[name]) + ending);
  }
  return kept.join("\n");
}
