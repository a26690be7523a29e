import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { StructuredToolInterface } from "@langchain/core/tools";
import { UserError } from "../core/errors.js";
import { pluginSpec, validateContribution, type Contribution, type ContributionKind, type PluginContext } from "../core/plugin.js";
import type { Registry } from "../core/registry.js";
import { loadSpecDirectory, loadSpecFile } from "../core/spec-loader.js";
import type { KernelSpec } from "../core/spec.js";
import type { Operator, Platform, SelectionPolicy } from "../core/types.js";
import type { AppEnvironment } from "./environment.js";
import { objectOperatorProvider, type OperatorProvider } from "./operators.js";
import type { LoadedPlugin } from "./project-config.js";
import type { SpecEntry } from "./spec-catalog.js";

/**
 * Registration: every id goes into its registry once, with where it came from, so a duplicate
 * names both origins; plugin contributions are built, validated and registered here.
 */

export type RegistryKind = "platform" | "operator" | "policy" | "spec" | "tool";

/** The registries being filled, the origins of every id, and the folders plugins add. */
export interface Registrar {
  platforms: Registry<Platform>;
  operators: Registry<OperatorProvider>;
  policies: Registry<SelectionPolicy>;
  specs: Registry<SpecEntry & { id: string }>;
  /** Tools contributed by plugins. */
  pluginTools: StructuredToolInterface[];
  /** Platforms contributed by plugins (closed with the composition). */
  pluginPlatforms: Platform[];
  /** Folders searched for seed kernels, most specific first. */
  seedRoots: string[];
  /** Knowledge-base folders. */
  docsFolders: string[];
  /** "kind:id" -> origin ("built-in", or the plugin's id and path). */
  origins: Map<string, string>;
}

/** Registers an item, refusing an id that another origin already registered (naming both). */
export function registerItem<T extends { id: string }>(registrar: Registrar, registry: Registry<T>, kind: RegistryKind, item: T, origin: string): void {
  const earlier = registrar.origins.get(`${kind}:${item.id}`);
  if (earlier) throw new UserError("duplicate_id", `duplicate ${kind} id '${item.id}' from ${origin}: already registered by ${earlier}`);
  registry.register(item, origin);
  registrar.origins.set(`${kind}:${item.id}`, origin);
}

/** Records the names of tools that exist before any plugin, so a plugin tool cannot shadow one. */
export function registerToolNames(registrar: Registrar, names: string[], origin: string): void {
  for (const name of names) registrar.origins.set(`tool:${name}`, origin);
}

/** Platforms (folder names) under the seed roots holding a `kind` seed of a spec. */
function seedPlatforms(roots: string[], specId: string, kind: "baseline" | "template"): string[] {
  const found = new Set<string>();
  for (const root of roots) {
    if (!existsSync(root)) continue;
    for (const platform of readdirSync(root)) {
      const folder = join(root, platform, specId);
      if (existsSync(folder) && readdirSync(folder).some((file) => file.startsWith(`${kind}.`))) found.add(platform);
    }
  }
  return [...found].sort();
}

/** A spec's catalogue entry with the platforms that hold its baseline and template seeds under `roots`. */
export function specEntry(spec: KernelSpec, origin: string, roots: string[]): SpecEntry & { id: string } {
  return { id: spec.id, spec, origin, baselines: seedPlatforms(roots, spec.id, "baseline"), templates: seedPlatforms(roots, spec.id, "template") };
}

/** The `seeds/` folder beside a folder of specs (or beside a spec file), where its seed kernels may live. */
export function seedsBeside(path: string): string | undefined {
  const folder = existsSync(path) && statSync(path).isDirectory() ? path : dirname(path);
  const seeds = join(folder, "seeds");
  return existsSync(seeds) && statSync(seeds).isDirectory() ? seeds : undefined;
}

async function build<T>(item: Contribution<T>, context: PluginContext): Promise<T> {
  return typeof item === "function" ? await (item as (context: PluginContext) => T | Promise<T>)(context) : item;
}

/** Builds and validates one kind of a plugin's contributions; a builder that throws is named by index. */
async function buildContributions<T>(kind: ContributionKind, list: Contribution<T>[] | undefined, context: PluginContext, origin: string): Promise<T[]> {
  const built: T[] = [];
  for (const [index, item] of (list ?? []).entries()) {
    let value: T;
    try {
      value = await build(item, context);
    } catch (error) {
      if (error instanceof UserError) throw error;
      throw new UserError("plugin_failed", `${kind}[${index}] of ${origin} failed to build: ${(error as Error).message}`, { cause: error });
    }
    validateContribution(kind, value, `${origin} ${kind}[${index}]`);
    built.push(value);
  }
  return built;
}

/** An existing folder a plugin names, resolved against the plugin's folder. */
function pluginFolder(directory: string, folder: string, what: string, origin: string): string {
  const path = resolve(directory, folder);
  if (!existsSync(path) || !statSync(path).isDirectory()) throw new UserError("plugin_not_found", `${what} folder '${folder}' of ${origin} not found: ${path}`);
  return path;
}

/**
 * Registers one plugin's platforms, operators, policies, tools, specs, seed and docs folders.
 * @example await registerPlugin(registrar, loaded, environment);
 */
export async function registerPlugin(registrar: Registrar, loaded: LoadedPlugin, environment: AppEnvironment): Promise<void> {
  const { plugin, directory } = loaded;
  const origin = `plugin '${plugin.id}' (${loaded.path})`;
  const workDirectory = join(environment.cacheDirectory, "plugins", plugin.id);
  mkdirSync(workDirectory, { recursive: true });
  const { platforms, operators, policies, specs } = registrar;
  const context: PluginContext = {
    root: environment.root,
    cwd: environment.cwd,
    pluginDirectory: directory,
    python: environment.python,
    pythonPath: environment.pythonPath,
    workDirectory,
    platforms: { get: (id) => platforms.get(id), ids: () => platforms.ids() },
  };
  for (const platform of await buildContributions<Platform>("platforms", plugin.platforms, context, origin)) {
    registerItem(registrar, platforms, "platform", platform, origin);
    registrar.pluginPlatforms.push(platform);
  }
  for (const operator of await buildContributions<Operator>("operators", plugin.operators, context, origin)) {
    registerItem(registrar, operators, "operator", objectOperatorProvider(operator), origin);
  }
  for (const policy of await buildContributions<SelectionPolicy>("policies", plugin.policies, context, origin)) registerItem(registrar, policies, "policy", policy, origin);
  for (const item of await buildContributions<StructuredToolInterface>("tools", plugin.tools as Contribution<StructuredToolInterface>[] | undefined, context, origin)) {
    const earlier = registrar.origins.get(`tool:${item.name}`);
    if (earlier) throw new UserError("duplicate_id", `duplicate tool name '${item.name}' from ${origin}: already registered by ${earlier}${earlier === "built-in" ? " (a built-in tool; rename the plugin's tool)" : ""}`);
    registrar.origins.set(`tool:${item.name}`, origin);
    registrar.pluginTools.push(item);
  }
  for (const [index, spec] of (plugin.specs ?? []).entries()) {
    if (typeof spec !== "string") {
      const item = pluginSpec(spec);
      registerItem(registrar, specs, "spec", { id: item.id, spec: item, origin: `${origin} specs[${index}]`, baselines: [], templates: [] }, `${origin} specs[${index}]`);
      continue;
    }
    const path = resolve(directory, spec);
    if (!existsSync(path)) throw new UserError("plugin_not_found", `spec path '${spec}' of ${origin} not found: ${path}`);
    const loadedSpecs = statSync(path).isDirectory() ? loadSpecDirectory(path) : [loadSpecFile(path)];
    for (const item of loadedSpecs) registerItem(registrar, specs, "spec", { id: item.id, spec: item, origin: `${origin} ${path}`, baselines: [], templates: [] }, `${origin} ${path}`);
    const beside = seedsBeside(path);
    if (beside && !registrar.seedRoots.includes(beside)) registrar.seedRoots.push(beside);
  }
  for (const folder of plugin.seeds ?? []) {
    const path = pluginFolder(directory, folder, "seeds", origin);
    if (!registrar.seedRoots.includes(path)) registrar.seedRoots.push(path);
  }
  for (const folder of plugin.docs ?? []) registrar.docsFolders.push(pluginFolder(directory, folder, "docs", origin));
}

/** Fills every spec entry's seed listing (explain_spec) once every seed root is known. */
export function listSpecSeeds(registrar: Registrar): void {
  for (const entry of registrar.specs.values()) {
    const listed = specEntry(entry.spec, entry.origin, registrar.seedRoots);
    entry.baselines = listed.baselines;
    entry.templates = listed.templates;
  }
}
