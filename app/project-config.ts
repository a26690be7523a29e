import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import { UserError } from "../core/errors.js";
import { validatePlugin, type KernelEvolvePlugin } from "../core/plugin.js";
import { formatZodIssues } from "../core/spec-loader.js";

/**
 * The project's configuration and plugins: kernelevolve.config.ts / kernelevolve.config.json in the
 * working directory, plugin module paths (the CLI's --plugin flags, the library's `plugins` option)
 * and plugin objects. Every failure names the file it came from.
 */

/** A validated plugin and where it was loaded from. */
export interface LoadedPlugin {
  plugin: KernelEvolvePlugin;
  /** The module file, or the config file for a plugin object written inline in kernelevolve.config.ts. */
  path: string;
  /** Folder against which the plugin's relative spec and docs paths resolve. */
  directory: string;
}

/** Defaults a project may set in its config; ids are checked against the registries by compose. */
export const ProjectDefaultsSchema = z
  .object({
    platform: z.string().optional().describe("Platform used when a run names none"),
    operator: z.string().optional().describe("Operator used when a run names none"),
    policy: z.string().optional().describe("Selection policy used when a run names none"),
  })
  .strict();
export type ProjectDefaults = z.infer<typeof ProjectDefaultsSchema>;

/** kernelevolve.config.json: plugin module paths (relative to the file) and defaults. */
export const ProjectConfigFileSchema = z
  .object({
    plugins: z.array(z.string().min(1)).default([]).describe("Paths of plugin modules, relative to the config file"),
    defaults: ProjectDefaultsSchema.default({}).describe("Default ids for runs"),
    specsDirectories: z.array(z.string().min(1)).default([]).describe("More folders of specs, relative to the config file"),
    models: z
      .record(
        z
          .object({
            inputCostPerMillion: z.number().nonnegative().describe("Price in USD per million prompt tokens"),
            outputCostPerMillion: z.number().nonnegative().describe("Price in USD per million completion tokens"),
          })
          .strict(),
      )
      .default({})
      .describe("Prices per model name, so runs count their cost and --cost can stop them"),
    fleet: z
      .object({ queue: z.string().min(1).describe("Redis URL of the evaluation fleet"), tag: z.string().min(1).optional().describe("Hardware tag of the workers to use") })
      .strict()
      .optional()
      .describe("Evaluate through the fleet (kernelevolve worker processes) instead of the local runtime"),
  })
  .strict();

/** The project's plugins and settings, resolved. */
export interface ProjectConfig {
  /** The config file that was read, if any. */
  configPath?: string;
  plugins: LoadedPlugin[];
  defaults: ProjectDefaults;
  specsDirectories: string[];
  /** The evaluation fleet (docs/fleet.md), when configured. */
  fleet?: { queue: string; tag?: string };
  /** Prices per model name. */
  models?: Record<string, { inputCostPerMillion: number; outputCostPerMillion: number }>;
}

export const CONFIG_FILE_NAMES = ["kernelevolve.config.ts", "kernelevolve.config.json"] as const;

/** Imports a module, turning a missing file or a throwing module into a UserError naming the path. */
async function importModule(path: string, what: string): Promise<Record<string, unknown>> {
  if (!existsSync(path) || !statSync(path).isFile()) throw new UserError("plugin_not_found", `${what} not found: ${path}`);
  try {
    return await importFile(path);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new UserError("plugin_import_failed", `${what} ${path} failed to load: ${message}`, { cause: error });
  }
}

/** Imports a module file; under plain Node (the built CLI) a TypeScript file goes through tsx, an optional peer dependency. */
async function importFile(path: string): Promise<Record<string, unknown>> {
  try {
    return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ERR_UNKNOWN_FILE_EXTENSION") throw error;
  }
  let tsImport: (specifier: string, parentURL: string) => Promise<unknown>;
  try {
    ({ tsImport } = await import("tsx/esm/api"));
  } catch {
    throw new Error("it is TypeScript and tsx is not installed: npm install tsx, or compile the module to JavaScript");
  }
  return (await tsImport(pathToFileURL(path).href, import.meta.url)) as Record<string, unknown>;
}

/** Loads and validates one plugin module: its default export, or an export named `plugin`. */
export async function loadPluginModule(path: string): Promise<LoadedPlugin> {
  const module = await importModule(path, "plugin module");
  const value = module.default ?? module.plugin;
  if (value === undefined) {
    throw new UserError("invalid_plugin", `invalid plugin ${path}: the module has no default export (export default definePlugin({...}))`);
  }
  return { plugin: validatePlugin(value, path), path, directory: dirname(path) };
}

/** Refuses a plugin id loaded twice (naming both places); returns the list unchanged otherwise. */
export function checkUniquePlugins(plugins: LoadedPlugin[]): LoadedPlugin[] {
  const seen = new Map<string, string>();
  for (const { plugin, path } of plugins) {
    const earlier = seen.get(plugin.id);
    if (earlier !== undefined) {
      throw new UserError("duplicate_plugin", `duplicate plugin id '${plugin.id}': loaded from ${earlier} and again from ${path}`);
    }
    seen.set(plugin.id, path);
  }
  return plugins;
}

async function readConfigFile(path: string): Promise<{ plugins: LoadedPlugin[]; defaults: ProjectDefaults; specsDirectories: string[]; fleet?: { queue: string; tag?: string }; models?: ProjectConfig["models"] }> {
  const directory = dirname(path);
  let data: unknown;
  const inline: LoadedPlugin[] = [];
  if (extname(path) === ".json") {
    try {
      data = JSON.parse(readFileSync(path, "utf8"));
    } catch (error) {
      throw new UserError("invalid_config", `invalid config ${path}: ${(error as Error).message}`);
    }
  } else {
    const module = await importModule(path, "config file");
    data = module.default;
    // A .ts config may list plugin objects as well as paths; the objects are validated here.
    if (data && typeof data === "object" && Array.isArray((data as { plugins?: unknown }).plugins)) {
      const entries = (data as { plugins: unknown[] }).plugins;
      entries.forEach((entry, index) => {
        if (typeof entry !== "string") inline.push({ plugin: validatePlugin(entry, `${path} (plugins[${index}])`), path, directory });
      });
      data = { ...(data as object), plugins: entries.filter((entry) => typeof entry === "string") };
    }
  }
  const parsed = ProjectConfigFileSchema.safeParse(data ?? {});
  if (!parsed.success) throw new UserError("invalid_config", `invalid config ${path}:\n${formatZodIssues(parsed.error)}`);
  const fromPaths: LoadedPlugin[] = [];
  for (const pluginPath of parsed.data.plugins) fromPaths.push(await loadPluginModule(resolve(directory, pluginPath)));
  return {
    plugins: [...fromPaths, ...inline],
    defaults: parsed.data.defaults,
    specsDirectories: parsed.data.specsDirectories.map((folder) => resolve(directory, folder)),
    fleet: parsed.data.fleet,
    models: parsed.data.models,
  };
}

/**
 * Loads the project config of `cwd` (if any) and the `--plugin` modules, validates every plugin and
 * rejects a plugin id loaded twice.
 * @example const project = await loadProjectConfig({ cwd: process.cwd(), pluginPaths: ["./my-plugin.ts"] });
 */
export async function loadProjectConfig(options: { cwd: string; pluginPaths?: string[] }): Promise<ProjectConfig> {
  const present = CONFIG_FILE_NAMES.map((name) => resolve(options.cwd, name)).filter((path) => existsSync(path));
  if (present.length > 1) throw new UserError("invalid_config", `both ${present.join(" and ")} exist: keep one`);
  const fromConfig = present.length ? await readConfigFile(present[0]) : { plugins: [], defaults: {}, specsDirectories: [] };
  const fromFlags: LoadedPlugin[] = [];
  for (const path of options.pluginPaths ?? []) fromFlags.push(await loadPluginModule(resolve(options.cwd, path)));
  const plugins = [...fromConfig.plugins, ...fromFlags];
  checkUniquePlugins(plugins);
  return { configPath: present[0], plugins, defaults: fromConfig.defaults, specsDirectories: fromConfig.specsDirectories, fleet: "fleet" in fromConfig ? fromConfig.fleet : undefined, models: "models" in fromConfig ? fromConfig.models : undefined };
}

/**
 * Loads the plugins a library caller names: plugin objects (validated here) or module paths resolved against cwd.
 * @example const plugins = await loadPlugins([myPlugin, "./other-plugin.ts"], process.cwd());
 */
export async function loadPlugins(entries: readonly (KernelEvolvePlugin | string)[], cwd: string): Promise<LoadedPlugin[]> {
  const loaded: LoadedPlugin[] = [];
  for (const [index, entry] of entries.entries()) {
    if (typeof entry === "string") loaded.push(await loadPluginModule(resolve(cwd, entry)));
    else loaded.push({ plugin: validatePlugin(entry, `plugins[${index}]`), path: `plugins[${index}]`, directory: cwd });
  }
  return loaded;
}
