import { z } from "zod";
import { UserError } from "./errors.js";
import { KernelSpecSchema, type KernelSpec } from "./spec.js";
import { formatZodIssues } from "./spec-loader.js";
import type { Operator, Platform, SelectionPolicy } from "./types.js";

/**
 * The plugin contract, version "v1": a plain object that contributes tools, platforms, operators,
 * selection policies, specs and knowledge-base folders. The CLI's composition root validates and
 * registers it; nothing here loads files or reads the environment.
 */

/** What a plugin's factories receive from the composition root. */
export interface PluginContext {
  /** Repository root of KernelEvolve (seeds/, python/). */
  root: string;
  /** The user's working directory. */
  cwd: string;
  /** Folder of the plugin's module, for resolving its own files. */
  pluginDirectory: string;
  /** Python executable of the runtime. */
  python: string;
  /** PYTHONPATH of the runtime and the pipelines. */
  pythonPath: string;
  /** A scratch folder the plugin may write into. */
  workDirectory: string;
  /** Platforms registered before this plugin (built-ins first), so a plugin can wrap one. */
  platforms: { get(id: string): Platform; ids(): string[] };
}

/**
 * The shape of a tool the chat model can call. LangChain's `tool()` returns one; the interface is
 * structural so core needs no LangChain import.
 */
export interface PluginTool {
  name: string;
  description: string;
  schema: unknown;
  invoke(input: unknown, config?: unknown): Promise<unknown>;
}

/** An item, or a function of the plugin context that builds it (sync or async). */
export type Contribution<T> = T | ((context: PluginContext) => T | Promise<T>);

/** A KernelEvolve plugin (specification version v1). */
export interface KernelEvolvePlugin {
  specificationVersion: "v1";
  /** kebab-case id, unique among loaded plugins. */
  id: string;
  description?: string;
  tools?: Contribution<PluginTool>[];
  platforms?: Contribution<Platform>[];
  operators?: Contribution<Operator>[];
  policies?: Contribution<SelectionPolicy>[];
  /** Spec objects, or paths (relative to the plugin's folder) of spec files or folders of specs. */
  specs?: (z.input<typeof KernelSpecSchema> | string)[];
  /** Folders of markdown documents (relative to the plugin's folder) added to the knowledge base. */
  docs?: string[];
  /**
   * Folders of seed kernels (relative to the plugin's folder), laid out like seeds/kernels:
   * `<folder>/<platform>/<spec-id>/baseline.cpp` and `template.cpp`, so the plugin's specs can be
   * optimised offline by the autotune operator.
   */
  seeds?: string[];
}

/**
 * Identity helper that types a plugin object (and checks its shape when called).
 * @example export default definePlugin({ specificationVersion: "v1", id: "my-tools", tools: [myTool] });
 */
export function definePlugin<T extends KernelEvolvePlugin>(plugin: T): T {
  return validatePlugin(plugin, "definePlugin()") as T;
}

const isFunction = (value: unknown) => typeof value === "function";
const functionField = (what: string) => z.custom<(...args: unknown[]) => unknown>(isFunction, { message: `expected a function (${what})` });
const kebabId = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "a kebab-case id such as 'my-plugin'");

const ToolShape = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_]*$/, "a snake_case tool name such as 'count_flops'").describe("Name the model calls the tool by"),
    description: z.string().min(1).describe("What the tool does, read by the model"),
    schema: z.custom<unknown>((value) => value !== undefined && value !== null, { message: "a zod schema of the arguments" }).describe("Arguments schema"),
    invoke: functionField("invoke(input)").describe("Runs the tool"),
  })
  .passthrough();

const PlatformShape = z
  .object({
    id: kebabId.describe("Platform id"),
    languages: z.array(z.enum(["cpp", "cuda", "triton", "python"])).min(1).describe("Languages its candidates are written in"),
    description: z.string().min(1).describe("One line about the platform"),
    capabilities: z
      .object({ timed: z.boolean().describe("Timings are meaningful"), accelerator: z.boolean().describe("Runs on an accelerator"), compiled: z.boolean().describe("Candidates are compiled") })
      .describe("What the platform can do"),
    availability: functionField("availability()").describe("Whether it can run here"),
    hardwareProfile: functionField("hardwareProfile()").describe("Hardware facts"),
    capacity: functionField("capacity()").describe("Concurrent evaluations"),
    evaluate: functionField("evaluate(spec, candidate, options, signal)").describe("Evaluates one candidate"),
    close: functionField("close()").describe("Releases resources"),
  })
  .passthrough();

const OperatorShape = z
  .object({
    id: kebabId.describe("Operator id"),
    description: z.string().min(1).describe("One line about the operator"),
    propose: functionField("propose(context)").describe("Proposes candidates"),
  })
  .passthrough();

const PolicyShape = z
  .object({
    id: kebabId.describe("Policy id"),
    description: z.string().min(1).describe("One line about the policy"),
    select: functionField("select(population, options)").describe("Chooses parents"),
  })
  .passthrough();

/** Either the item itself or a factory function; factories are checked when they are called. */
const contribution = <T extends z.ZodTypeAny>(shape: T) => z.union([functionField("a factory (context) => item"), shape]);

/** The zod schema of a v1 plugin object (used for validation only: the original object is kept). */
export const PluginSchema = z
  .object({
    specificationVersion: z.literal("v1").describe("Plugin API version this plugin was written for; only 'v1' exists"),
    id: kebabId.describe("Unique kebab-case id of the plugin"),
    description: z.string().optional().describe("One line about the plugin"),
    tools: z.array(contribution(ToolShape)).optional().describe("LangChain tools (or factories) the chat model may call"),
    platforms: z.array(contribution(PlatformShape)).optional().describe("Platforms (or factories) that evaluate candidates"),
    operators: z.array(contribution(OperatorShape)).optional().describe("Operators (or factories) that propose candidates"),
    policies: z.array(contribution(PolicyShape)).optional().describe("Selection policies (or factories)"),
    specs: z
      .array(z.union([z.string().min(1), z.record(z.unknown())]))
      .optional()
      .describe("Kernel specs: objects, or paths of spec files/folders relative to the plugin"),
    docs: z.array(z.string().min(1)).optional().describe("Folders of markdown documents relative to the plugin"),
    seeds: z.array(z.string().min(1)).optional().describe("Folders of seed kernels (<platform>/<spec-id>/baseline.cpp, template.cpp) relative to the plugin"),
  })
  .strict();

/** Shapes of the items a factory may return, by contribution kind. */
export const CONTRIBUTION_SHAPES = { tools: ToolShape, platforms: PlatformShape, operators: OperatorShape, policies: PolicyShape } as const;
export type ContributionKind = keyof typeof CONTRIBUTION_SHAPES;

/**
 * Checks a value against the v1 plugin shape and returns it unchanged (class instances keep their
 * prototypes); `origin` (a file path) is named in the error.
 */
export function validatePlugin(value: unknown, origin: string): KernelEvolvePlugin {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new UserError("invalid_plugin", `invalid plugin ${origin}: expected a plugin object (definePlugin({ specificationVersion: "v1", id, ... })), got ${describeValue(value)}`);
  }
  const version = (value as { specificationVersion?: unknown }).specificationVersion;
  if (version !== undefined && version !== "v1") {
    throw new UserError("invalid_plugin", `invalid plugin ${origin}: specificationVersion ${JSON.stringify(version)} is not supported; this KernelEvolve understands "v1"`);
  }
  const result = PluginSchema.safeParse(value);
  if (!result.success) throw new UserError("invalid_plugin", `invalid plugin ${origin}:\n${formatZodIssues(result.error)}`);
  const plugin = value as KernelEvolvePlugin;
  (plugin.specs ?? []).forEach((spec, index) => {
    if (typeof spec === "string") return;
    const parsed = KernelSpecSchema.safeParse(spec);
    if (!parsed.success) throw new UserError("invalid_plugin", `invalid plugin ${origin}: specs[${index}] is not a valid spec:\n${formatZodIssues(parsed.error)}`);
  });
  return plugin;
}

/** Checks one item a plugin factory returned; `where` names the plugin and the list position. */
export function validateContribution<K extends ContributionKind>(kind: K, value: unknown, where: string): void {
  const result = CONTRIBUTION_SHAPES[kind].safeParse(value);
  if (!result.success) throw new UserError("invalid_plugin", `invalid ${kind.slice(0, -1)} from ${where}:\n${formatZodIssues(result.error)}`);
}

/** Parses a plugin's inline spec object (already checked by validatePlugin) into a KernelSpec. */
export function pluginSpec(value: z.input<typeof KernelSpecSchema>): KernelSpec {
  return KernelSpecSchema.parse(value);
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "function") return "a function (export the plugin object, not a factory)";
  return typeof value;
}
