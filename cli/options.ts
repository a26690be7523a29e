import { parseArgs, type ParseArgsConfig } from "node:util";
import { z } from "zod";
import { UserError } from "../core/errors.js";

/**
 * Command-line options declared once: each flag is a zod schema whose `.describe()` text is its
 * --help line, and the same table drives parsing (the value's type: boolean, number, string or a
 * repeatable list), validation (the schema's checks) and the help text. Commands declare a table
 * and call parseCommandLine; none repeats parsing code.
 */

/** One flag: the schema of its value (optional, defaulted or required), and how --help shows it. */
export interface OptionSpec<S extends z.ZodTypeAny = z.ZodTypeAny> {
  schema: S;
  /** The value's placeholder in --help ("N", "ID"); a flag without one is a boolean switch. */
  value?: string;
  /** The flag's name when it is not the table key in kebab-case. */
  flag?: string;
  short?: string;
  /** Turns the text into the value when the schema's type is not enough (e.g. durations); throws a UserError. */
  parse?: (text: string, flag: string) => unknown;
  /** What the error says the flag expects (default: from the schema's type and checks). */
  expects?: string;
}

export type OptionTable = Record<string, OptionSpec>;
export type OptionValues<T extends OptionTable> = { [K in keyof T]: z.output<T[K]["schema"]> };

/**
 * A flag described by a zod field.
 * @example const options = { budget: option(z.number().int().min(1).optional().describe("Most candidates"), "N") };
 */
export function option<S extends z.ZodTypeAny>(schema: S, value?: string, extra: Omit<OptionSpec<S>, "schema" | "value"> = {}): OptionSpec<S> {
  return { schema, value, ...extra };
}

/**
 * The flags of every field of a zod object, with the placeholders given (a field without one is a switch).
 * @example const runOptions = optionsFromSchema(RunOptionsSchema, { budget: "N", platform: "ID" });
 */
export function optionsFromSchema<Shape extends z.ZodRawShape>(
  schema: z.ZodObject<Shape>,
  placeholders: { [K in keyof Shape]?: string },
  extra: { [K in keyof Shape]?: Omit<OptionSpec, "schema" | "value"> } = {},
): { [K in keyof Shape]: OptionSpec<Shape[K]> } {
  return Object.fromEntries(Object.entries(schema.shape).map(([key, field]) => [key, { schema: field, value: placeholders[key], ...extra[key] }])) as { [K in keyof Shape]: OptionSpec<Shape[K]> };
}

const kebab = (key: string) => key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
const flagOf = (key: string, spec: OptionSpec) => spec.flag ?? kebab(key);

/** The schema under optional/default/describe wrappers. */
function baseType(schema: z.ZodTypeAny): z.ZodTypeAny {
  let current = schema;
  while (current instanceof z.ZodOptional || current instanceof z.ZodDefault || current instanceof z.ZodNullable || current instanceof z.ZodEffects) {
    current = current instanceof z.ZodEffects ? current.innerType() : current instanceof z.ZodDefault ? current._def.innerType : current.unwrap();
  }
  return current;
}

/** "a positive integer", "an integer from 0 to 65535", ... from a number schema's checks. */
function numberExpectation(schema: z.ZodNumber): string {
  const checks = schema._def.checks;
  const integer = checks.some((check) => check.kind === "int");
  const min = checks.find((check): check is Extract<typeof check, { kind: "min" }> => check.kind === "min");
  const max = checks.find((check): check is Extract<typeof check, { kind: "max" }> => check.kind === "max");
  const noun = integer ? "integer" : "number";
  if (min && max) return `${integer ? "an integer" : "a number"} from ${min.value} to ${max.value}`;
  if (min && ((min.value === 0 && !min.inclusive) || (integer && min.value === 1 && min.inclusive))) return `a positive ${noun}`;
  if (min) return `${integer ? "an integer" : "a number"} >= ${min.inclusive ? min.value : `${min.value} (exclusive)`}`;
  return integer ? "an integer" : "a number";
}

/** The value of one occurrence of a flag, checked against the schema's element type. */
function parseValue(text: string, flagName: string, spec: OptionSpec, element: z.ZodTypeAny): unknown {
  if (spec.parse) return spec.parse(text, flagName);
  if (element instanceof z.ZodNumber) {
    const value = /^-?(\d+(\.\d*)?|\.\d+)$/.test(text.trim()) ? Number(text) : Number.NaN;
    if (!element.safeParse(value).success) throw new UserError("bad_usage", `--${flagName} expects ${spec.expects ?? numberExpectation(element)}, got '${text}'`);
    return value;
  }
  if (element instanceof z.ZodEnum) {
    if (!element.safeParse(text).success) throw new UserError("bad_usage", `--${flagName} expects ${spec.expects ?? `one of ${(element.options as string[]).join(", ")}`}, got '${text}'`);
    return text;
  }
  const checked = element.safeParse(text);
  if (!checked.success) throw new UserError("bad_usage", `--${flagName} expects ${spec.expects ?? checked.error.issues[0]?.message ?? "another value"}, got '${text}'`);
  return checked.data;
}

/** A command's --help lines for its options, each the flag, its placeholder and its schema's description. */
export function optionsHelp(table: OptionTable): string {
  const rows = Object.entries(table).map(([key, spec]) => [`--${flagOf(key, spec)}${spec.short ? `, -${spec.short}` : ""}${spec.value ? ` ${spec.value}` : ""}`, spec.schema.description ?? ""]);
  const width = Math.max(22, ...rows.map(([flag]) => flag.length + 1));
  return rows.map(([flag, text]) => `  ${flag.padEnd(width)} ${text}`.trimEnd()).join("\n");
}

/** How many positional arguments a command takes, and how the error names them. */
export interface PositionalRule {
  /** e.g. "one run id or folder" */
  expected: string;
  min: number;
  max: number;
}

/**
 * Parses argv against an option table: unknown flags, bad values and missing required flags are
 * UserErrors (exit 2) that end with the command's usage.
 * @example const { values, positionals } = parseCommandLine(argv, options, usage, { expected: "one spec id or file", min: 1, max: 1 });
 */
export function parseCommandLine<T extends OptionTable>(argv: string[], table: T, usage: string, positionalRule?: PositionalRule): { values: OptionValues<T>; positionals: string[] } {
  const config: NonNullable<ParseArgsConfig["options"]> = {};
  for (const [key, spec] of Object.entries(table)) {
    const base = baseType(spec.schema);
    const type = base instanceof z.ZodBoolean ? "boolean" : "string";
    config[flagOf(key, spec)] = { type, ...(base instanceof z.ZodArray ? { multiple: true } : {}), ...(spec.short ? { short: spec.short } : {}) };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: config, strict: true });
  } catch (error) {
    throw new UserError("bad_usage", `${(error as Error).message}\n${usage.trim()}`);
  }
  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(table)) {
    const flagName = flagOf(key, spec);
    const raw = parsed.values[flagName];
    const base = baseType(spec.schema);
    let value: unknown = raw;
    if (typeof raw === "string") value = parseValue(raw, flagName, spec, base);
    else if (Array.isArray(raw)) value = raw.map((text) => parseValue(String(text), flagName, spec, base instanceof z.ZodArray ? base.element : base));
    const checked = spec.schema.safeParse(value);
    if (!checked.success) {
      if (value === undefined) throw new UserError("bad_usage", `--${flagName} is required\n${usage.trim()}`);
      const given = Array.isArray(raw) ? raw.join(", ") : String(raw);
      throw new UserError("bad_usage", `--${flagName} expects ${spec.expects ?? checked.error.issues.map((issue) => issue.message).join("; ")}, got '${given}'`);
    }
    values[key] = checked.data;
  }
  const { positionals } = parsed;
  if (!positionalRule && positionals.length) throw new UserError("bad_usage", `unexpected argument '${positionals[0]}'\n${usage.trim()}`);
  if (positionalRule && (positionals.length < positionalRule.min || positionals.length > positionalRule.max)) {
    throw new UserError("bad_usage", `expected ${positionalRule.expected}, got ${positionals.length}\n${usage.trim()}`);
  }
  return { values: values as OptionValues<T>, positionals };
}

/** Flags several commands share, declared once. */
export const COMMON_OPTIONS = {
  jsonEvents: option(z.boolean().default(false).describe("One JSON event per line instead of the progress display")),
  json: option(z.boolean().default(false).describe("One JSON object per line instead of the text display")),
  specsDir: option(z.array(z.string().min(1)).default([]).describe("Also search this folder for spec ids (repeatable)"), "DIR"),
  queue: option(z.string().min(1).optional().describe("Evaluate through the fleet at this Redis (kernelevolve worker; docs/fleet.md)"), "URL"),
  tag: option(z.string().min(1).optional().describe("Only fleet workers started with this hardware tag"), "TAG"),
} as const;

/** The one positional argument of the commands that act on a run. */
export const RUN_ARGUMENT: PositionalRule = { expected: "one run id or folder", min: 1, max: 1 };
