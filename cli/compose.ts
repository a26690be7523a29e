import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { StructuredToolInterface } from "@langchain/core/tools";
import { UserError } from "../core/errors.js";
import { pluginSpec, validateContribution, type Contribution, type ContributionKind, type PluginContext } from "../core/plugin.js";
import { Registry } from "../core/registry.js";
import { loadSpecDirectory, loadSpecFile, looksLikeSpecPath } from "../core/spec-loader.js";
import type { KernelSpec } from "../core/spec.js";
import type { ContextProvider, Operator, Platform, SelectionPolicy } from "../core/types.js";
import { createBuiltinPlatforms } from "../platforms/index.js";
import { fleetRegistry, type FleetSettings } from "../platforms/queue/fleet-platforms.js";
import { HashingEmbedder } from "../retrieval/hashing-embedder.js";
import { KnowledgeStore } from "../retrieval/knowledge-store.js";
import { ExperienceMemory } from "../retrieval/experience-memory.js";
import { combineProviders } from "../retrieval/combined-provider.js";
import { loadDocuments } from "../retrieval/load-documents.js";
import { createSearchDocsTool, SEARCH_DOCS_TOOL_NAME } from "../tools/search-docs.js";
import { KERNEL_TOOL_NAMES } from "../tools/kernel-tools.js";
import { createExfmTools } from "../tools/exfm/index.js";
import { createAoviftTools } from "../tools/aovift/index.js";
import { createLlmOperator } from "../agents/llm-operator-factory.js";
import { createAutotuneOperator } from "../agents/autotune-operator.js";
import type { ModelConfig } from "../agents/models.js";
import { createPolicyRegistry } from "../graphs/policies/registry.js";
import { loadSeedKernels, seedTemplates, type SeedKernel } from "../graphs/evolve/seeds.js";
import type { CliContext } from "./context.js";
import { loadProjectConfig, type LoadedPlugin, type ProjectDefaults } from "./plugins.js";
import { listSpecs, resolveSpec, type SpecEntry } from "./spec-resolution.js";

/**
 * THE composition root: registries of platforms, operators, policies, tools, specs and docs
 * folders, from the built-ins plus the plugins. The CLI commands, the chat and the library API all
 * build their parts here, so a plugin contributes to every entry point at once.
 */

/** Builds an operator for one run (the autotune operator needs the run's seed templates). */
export interface OperatorProvider {
  id: string;
  description: string;
  create(input: { spec: KernelSpec; platform: Platform; seeds: SeedKernel[] }): Operator;
}

/** Where everything comes from; the CLI fills it from argv and the environment, the library from options. */
export interface ComposeOptions {
  root: string;
  cwd: string;
  python: string;
  pythonPath: string;
  runsDirectory: string;
  cacheDirectory: string;
  /** Environment handed to the Python runtime (it strips secrets itself). */
  environment?: NodeJS.ProcessEnv;
  /** The chat and LLM operator's model; undefined means offline. */
  model?: ModelConfig;
  plugins?: LoadedPlugin[];
  defaults?: ProjectDefaults;
  /** More folders of specs (config, --specs-dir). */
  specsDirectories?: string[];
  /** Evaluate through the fleet queue (docs/fleet.md); undefined: the local runtime. */
  fleet?: FleetSettings;
}

/** The assembled product. */
export interface Composition {
  options: ComposeOptions;
  platforms: Registry<Platform>;
  operators: Registry<OperatorProvider>;
  policies: Registry<SelectionPolicy>;
  specs: Registry<SpecEntry & { id: string }>;
  /** Tools contributed by plugins. */
  pluginTools: StructuredToolInterface[];
  /** Knowledge-base folders: seeds/docs plus plugin docs. */
  docsFolders: string[];
  defaults: { platform: string; operator: string; policy: string };
  /** Where an id came from ("built-in", or the plugin's id and path). */
  originOf(kind: "platform" | "operator" | "policy" | "spec" | "tool", id: string): string;
  /** A spec by id or file path; an unknown id lists the known ones. */
  resolveSpec(argument: string): SpecEntry;
  /** Seed kernels of a spec for a platform. */
  seedsFor(spec: KernelSpec, platform: Platform): SeedKernel[];
  /** The knowledge store over docsFolders, opened and synced on first use. */
  knowledgeStore(): Promise<KnowledgeStore>;
  /** The memory of successful kernels across runs (<cache>/experience), opened on first use. */
  experienceMemory(): Promise<ExperienceMemory>;
  /** What an operator's prompts retrieve from: the knowledge base and the experience memory together. */
  contextProvider(): Promise<ContextProvider>;
  /** search_docs, the pipeline tools (AOViFT, ExFM) and the plugin tools. */
  extraTools(): Promise<StructuredToolInterface[]>;
  /** Stops the runtime and closes plugin platforms. */
  close(): Promise<void>;
}

async function build<T>(item: Contribution<T>, context: PluginContext): Promise<T> {
  return typeof item === "function" ? await (item as (context: PluginContext) => T | Promise<T>)(context) : item;
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

function entryFor(spec: KernelSpec, origin: string, roots: string[]): SpecEntry & { id: string } {
  return { id: spec.id, spec, origin, baselines: seedPlatforms(roots, spec.id, "baseline"), templates: seedPlatforms(roots, spec.id, "template") };
}

/** The `seeds/` folder beside a folder of specs (or beside a spec file), where its seed kernels may live. */
function seedsBeside(path: string): string | undefined {
  const folder = existsSync(path) && statSync(path).isDirectory() ? path : dirname(path);
  const seeds = join(folder, "seeds");
  return existsSync(seeds) && statSync(seeds).isDirectory() ? seeds : undefined;
}

/**
 * Assembles the registries from the built-ins and the (already validated) plugins; a duplicate id
 * names both origins, an unknown default id lists the ids that exist.
 * @example const composition = await compose({ root, cwd, python, pythonPath, runsDirectory, cacheDirectory });
 */
export async function compose(options: ComposeOptions): Promise<Composition> {
  const origins = new Map<string, string>();
  const builtin = createBuiltinPlatforms({
    python: options.python,
    pythonPath: options.pythonPath,
    cwd: options.root,
    environment: options.environment,
    compileCacheDirectory: join(options.cacheDirectory, "compile"),
  });
  const platforms = builtin.registry;
  const policies = createPolicyRegistry();
  const operators = new Registry<OperatorProvider>("operator");
  const specs = new Registry<SpecEntry & { id: string }>("spec");
  const pluginTools: StructuredToolInterface[] = [];
  const pluginPlatforms: Platform[] = [];
  const docsFolders = [join(options.root, "seeds", "docs")];
  for (const id of platforms.ids()) origins.set(`platform:${id}`, "built-in");
  for (const id of policies.ids()) origins.set(`policy:${id}`, "built-in");

  operators.register({
    id: "autotune",
    description: "Offline: tunes the parameters of the spec's template seed kernels (no model needed)",
    create: ({ spec, platform, seeds }) => {
      const templates = seedTemplates(seeds);
      if (!templates.length) throw new UserError("no_template", `spec '${spec.id}' has no template seed kernel for platform '${platform.id}', so the autotune operator has nothing to tune; use the llm operator with a model`);
      return createAutotuneOperator({ templates });
    },
  });
  operators.register({
    id: "llm",
    description: "The universal LLM operator (needs a model: --model or KERNELEVOLVE_MODEL)",
    create: () => {
      if (!options.model?.name) throw new UserError("no_model", "operator 'llm' needs a model: set KERNELEVOLVE_MODEL (and KERNELEVOLVE_BASE_URL) or pass --model");
      return createLlmOperator({ root: options.root, models: [options.model] });
    },
  });
  for (const id of operators.ids()) origins.set(`operator:${id}`, "built-in");
  // The built-in tools' names, so a plugin tool cannot shadow one (the chat would call the wrong tool).
  const pipelineOptions = { python: options.python, pythonPath: options.pythonPath };
  const builtinToolNames = [
    ...KERNEL_TOOL_NAMES,
    SEARCH_DOCS_TOOL_NAME,
    ...createExfmTools({ ...pipelineOptions, workDirectory: join(options.cacheDirectory, "pipelines", "exfm") }).map((tool) => tool.name),
    ...createAoviftTools({ ...pipelineOptions, workDirectory: join(options.cacheDirectory, "pipelines", "aovift") }).map((tool) => tool.name),
  ];
  for (const name of builtinToolNames) origins.set(`tool:${name}`, "built-in");

  const register = <T extends { id: string }>(registry: Registry<T>, kind: string, item: T, origin: string) => {
    const earlier = origins.get(`${kind}:${item.id}`);
    if (earlier) throw new UserError("duplicate_id", `duplicate ${kind} id '${item.id}' from ${origin}: already registered by ${earlier}`);
    registry.register(item, origin);
    origins.set(`${kind}:${item.id}`, origin);
  };

  // Where seed kernels come from: the repository's seeds/kernels, a `seeds/` folder beside a specs
  // folder (pipeline profiles write one), and the seed folders plugins declare.
  const seedRoots = [join(options.root, "seeds", "kernels")];
  for (const folder of options.specsDirectories ?? []) {
    const seeds = seedsBeside(resolve(options.cwd, folder));
    if (seeds) seedRoots.push(seeds);
  }
  const pendingEntries: (SpecEntry & { id: string })[] = [];
  const addSpec = (spec: KernelSpec, origin: string) => {
    const entry = { id: spec.id, spec, origin, baselines: [], templates: [] };
    register(specs, "spec", entry, origin);
    pendingEntries.push(entry);
  };
  for (const entry of listSpecs({ root: options.root, cwd: options.cwd, extraDirectories: options.specsDirectories })) {
    register(specs, "spec", { ...entry, id: entry.spec.id }, entry.origin);
    pendingEntries.push(specs.get(entry.spec.id));
  }

  try {
    for (const loaded of options.plugins ?? []) {
      const { plugin, directory } = loaded;
      const origin = `plugin '${plugin.id}' (${loaded.path})`;
      const workDirectory = join(options.cacheDirectory, "plugins", plugin.id);
      mkdirSync(workDirectory, { recursive: true });
      const context: PluginContext = {
        root: options.root,
        cwd: options.cwd,
        pluginDirectory: directory,
        python: options.python,
        pythonPath: options.pythonPath,
        workDirectory,
        platforms: { get: (id) => platforms.get(id), ids: () => platforms.ids() },
      };
      const items = async <T>(kind: ContributionKind, list: Contribution<T>[] | undefined): Promise<T[]> => {
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
      };
      for (const platform of await items<Platform>("platforms", plugin.platforms)) {
        register(platforms, "platform", platform, origin);
        pluginPlatforms.push(platform);
      }
      for (const operator of await items<Operator>("operators", plugin.operators)) {
        register(operators, "operator", { id: operator.id, description: operator.description, create: () => operator }, origin);
      }
      for (const policy of await items<SelectionPolicy>("policies", plugin.policies)) register(policies, "policy", policy, origin);
      for (const item of await items<StructuredToolInterface>("tools", plugin.tools as Contribution<StructuredToolInterface>[] | undefined)) {
        const earlier = origins.get(`tool:${item.name}`);
        if (earlier) throw new UserError("duplicate_id", `duplicate tool name '${item.name}' from ${origin}: already registered by ${earlier}${earlier === "built-in" ? " (a built-in tool; rename the plugin's tool)" : ""}`);
        origins.set(`tool:${item.name}`, origin);
        pluginTools.push(item);
      }
      for (const [index, spec] of (plugin.specs ?? []).entries()) {
        if (typeof spec !== "string") {
          addSpec(pluginSpec(spec), `${origin} specs[${index}]`);
          continue;
        }
        const path = resolve(directory, spec);
        if (!existsSync(path)) throw new UserError("plugin_not_found", `spec path '${spec}' of ${origin} not found: ${path}`);
        const loadedSpecs = statSync(path).isDirectory() ? loadSpecDirectory(path) : [loadSpecFile(path)];
        for (const item of loadedSpecs) addSpec(item, `${origin} ${path}`);
        const beside = seedsBeside(path);
        if (beside && !seedRoots.includes(beside)) seedRoots.push(beside);
      }
      for (const folder of plugin.seeds ?? []) {
        const path = resolve(directory, folder);
        if (!existsSync(path) || !statSync(path).isDirectory()) throw new UserError("plugin_not_found", `seeds folder '${folder}' of ${origin} not found: ${path}`);
        if (!seedRoots.includes(path)) seedRoots.push(path);
      }
      for (const folder of plugin.docs ?? []) {
        const path = resolve(directory, folder);
        if (!existsSync(path) || !statSync(path).isDirectory()) throw new UserError("plugin_not_found", `docs folder '${folder}' of ${origin} not found: ${path}`);
        docsFolders.push(path);
      }
    }
  } catch (error) {
    await Promise.allSettled([builtin.close(), ...pluginPlatforms.map((platform) => platform.close())]);
    throw error;
  }

  // Seed listings (explain_spec) once every seed root is known.
  for (const entry of pendingEntries) {
    const listed = entryFor(entry.spec, entry.origin, seedRoots);
    entry.baselines = listed.baselines;
    entry.templates = listed.templates;
  }
  const specSeedRoots = new Map<string, string>();

  const defaults = { platform: options.defaults?.platform ?? "cpu", operator: options.defaults?.operator ?? (options.model?.name ? "llm" : "autotune"), policy: options.defaults?.policy ?? "greedy" };
  const checks: [string, Registry<{ id: string }>, string][] = [
    ["platform", platforms, defaults.platform],
    ["operator", operators, defaults.operator],
    ["policy", policies, defaults.policy],
  ];
  for (const [kind, registry, id] of checks) {
    if (!registry.has(id)) {
      const available = registry.ids().map((known) => `${known} (${origins.get(`${kind}:${known}`) ?? "built-in"})`);
      await Promise.allSettled([builtin.close(), ...pluginPlatforms.map((platform) => platform.close())]);
      throw new UserError("unknown_id", `unknown default ${kind} '${id}' in the project config. Available: ${available.join(", ")}`);
    }
  }

  // With a fleet, every platform is evaluated by workers through the queue; the local ones stay unused here.
  const fleet = options.fleet ? fleetRegistry(platforms, options.fleet, (id) => origins.get(`platform:${id}`) ?? "built-in") : undefined;

  let store: Promise<KnowledgeStore> | undefined;
  const knowledgeStore = () => {
    store ??= (async () => {
      const embedder = new HashingEmbedder();
      const opened = await KnowledgeStore.open({ directory: join(options.cacheDirectory, "docs-index", embedder.id), embedder });
      await opened.sync(loadDocuments(docsFolders));
      return opened;
    })();
    return store;
  };

  let memory: Promise<ExperienceMemory> | undefined;
  const experienceMemory = () => {
    memory ??= ExperienceMemory.open({ directory: join(options.cacheDirectory, "experience"), embedder: new HashingEmbedder() });
    return memory;
  };

  return {
    options,
    platforms: fleet?.registry ?? platforms,
    operators,
    policies,
    specs,
    pluginTools,
    docsFolders,
    defaults,
    originOf: (kind, id) => origins.get(`${kind}:${id}`) ?? "built-in",
    resolveSpec(argument) {
      if (specs.has(argument)) return specs.get(argument);
      if (looksLikeSpecPath(argument) || existsSync(resolve(options.cwd, argument))) {
        // A spec given as a file may have its seeds in a `seeds/` folder beside it.
        const path = resolve(options.cwd, argument);
        const entry = resolveSpec(argument, { root: options.root, cwd: options.cwd });
        const beside = seedsBeside(path);
        if (beside) {
          specSeedRoots.set(entry.spec.id, beside);
          const listed = entryFor(entry.spec, entry.origin, [beside, ...seedRoots]);
          return { ...entry, baselines: listed.baselines, templates: listed.templates };
        }
        return entry;
      }
      const close = specs.ids().filter((id) => id.includes(argument) || argument.includes(id));
      const hint = close.length ? ` Did you mean ${close.map((id) => `'${id}'`).join(" or ")}?` : "";
      throw new UserError("unknown_spec", `no spec named '${argument}'.${hint} Available: ${specs.ids().join(", ")}`);
    },
    seedsFor(spec, platform) {
      const roots = [...(specSeedRoots.has(spec.id) ? [specSeedRoots.get(spec.id)!] : []), ...seedRoots].filter((root) => existsSync(root));
      for (const root of roots) {
        const own = loadSeedKernels(root, platform, spec.id);
        if (own.length) return own;
      }
      // A plugin platform running the same language as a built-in one (e.g. a cpu variant) starts
      // from that platform's seeds: seeds are written against a language's ABI, not a platform id.
      for (const root of roots) {
        for (const folder of readdirSync(root).sort()) {
          const seeds = loadSeedKernels(root, { id: folder, languages: platform.languages }, spec.id);
          if (seeds.length) return seeds;
        }
      }
      return [];
    },
    knowledgeStore,
    experienceMemory,
    async contextProvider() {
      return combineProviders([await knowledgeStore(), await experienceMemory()]);
    },
    async extraTools() {
      const pipelines = { python: options.python, pythonPath: options.pythonPath };
      return [
        createSearchDocsTool(await knowledgeStore()) as unknown as StructuredToolInterface,
        ...createExfmTools({ ...pipelines, workDirectory: join(options.cacheDirectory, "pipelines", "exfm") }),
        ...(createAoviftTools({ ...pipelines, workDirectory: join(options.cacheDirectory, "pipelines", "aovift"), seedsRoot: join(options.root, "seeds") }) as StructuredToolInterface[]),
        ...pluginTools,
      ];
    },
    async close() {
      await Promise.allSettled([builtin.close(), ...pluginPlatforms.map((platform) => platform.close()), ...(fleet ? [fleet.client.close()] : [])]);
    },
  };
}

/** Composes from a CLI context: loads the project config and --plugin modules first. */
export async function composeForCli(context: CliContext, extra: { specsDirectories?: string[]; model?: ModelConfig; fleet?: Partial<FleetSettings> | false } = {}): Promise<Composition> {
  const project = await loadProjectConfig({ cwd: context.cwd, pluginPaths: context.pluginPaths });
  const chosen = extra.model ?? (context.model.name ? { name: context.model.name, baseUrl: context.model.baseUrl, apiKey: context.model.apiKey } : undefined);
  // Prices come from the config's `models` entry for the model, unless the command line set them.
  const price = chosen ? project.models?.[chosen.name] : undefined;
  const model = chosen && price ? { ...price, ...chosen } : chosen;
  return compose({
    root: context.root,
    cwd: context.cwd,
    python: context.python,
    pythonPath: context.pythonPath,
    runsDirectory: context.runsDirectory,
    cacheDirectory: context.cacheDirectory,
    environment: context.env,
    model,
    plugins: project.plugins,
    defaults: project.defaults,
    specsDirectories: [...project.specsDirectories, ...(extra.specsDirectories ?? [])],
    fleet: extra.fleet === false ? undefined : fleetSettings(extra.fleet, context.env, project.fleet),
  });
}

/** The fleet to evaluate through: --queue/--tag, else KERNELEVOLVE_QUEUE(_TAG), else the config file; none means the local runtime. */
function fleetSettings(flags: Partial<FleetSettings> | undefined, env: NodeJS.ProcessEnv, config: FleetSettings | undefined): FleetSettings | undefined {
  const queue = flags?.queue ?? env.KERNELEVOLVE_QUEUE ?? config?.queue;
  if (!queue) return undefined;
  return { queue, tag: flags?.tag ?? env.KERNELEVOLVE_QUEUE_TAG ?? config?.tag };
}
