import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { StructuredToolInterface } from "@langchain/core/tools";
import { UserError } from "../core/errors.js";
import type { KernelEvolvePlugin } from "../core/plugin.js";
import { Registry } from "../core/registry.js";
import { looksLikeSpecPath } from "../core/spec-loader.js";
import type { KernelSpec } from "../core/spec.js";
import type { ContextProvider, Platform, SelectionPolicy } from "../core/types.js";
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
import type { ModelConfig } from "../agents/models.js";
import { createPolicyRegistry } from "../graphs/policies/registry.js";
import { loadSeedKernels, type SeedKernel } from "../graphs/evolve/seeds.js";
import { atBoundary } from "./boundary.js";
import type { AppEnvironment } from "./environment.js";
import { builtinOperators, defaultOperatorId, type OperatorProvider } from "./operators.js";
import { checkUniquePlugins, loadPlugins, loadProjectConfig, type LoadedPlugin, type ProjectDefaults } from "./project-config.js";
import { listSpecSeeds, registerItem, registerPlugin, registerToolNames, seedsBeside, specEntry, type Registrar, type RegistryKind } from "./registration.js";
import { listSpecs, resolveSpec, type SpecEntry } from "./spec-catalog.js";
import { DEFAULT_PLATFORM, DEFAULT_POLICY } from "./run-request.js";

/**
 * THE composition root: registries of platforms, operators, policies, tools, specs and docs
 * folders, from the built-ins plus the plugins. The CLI commands, the chat and the library API all
 * build their parts here, so a plugin contributes to every entry point at once.
 */

export type { OperatorProvider } from "./operators.js";

/** Where everything comes from; the CLI fills it from argv and the environment, the library from options. */
export interface ComposeOptions extends AppEnvironment {
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
  /** The ids a run uses when it names none (project config, else the built-in defaults). */
  defaults: { platform: string; operator: string; policy: string };
  /** Where an id came from ("built-in", or the plugin's id and path). */
  originOf(kind: RegistryKind, id: string): string;
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

/** The pipeline tools (ExFM, AOViFT), each working in its own cache folder. */
function pipelineTools(options: ComposeOptions): StructuredToolInterface[] {
  const pipelines = { python: options.python, pythonPath: options.pythonPath };
  return [
    ...createExfmTools({ ...pipelines, workDirectory: join(options.cacheDirectory, "pipelines", "exfm") }),
    ...(createAoviftTools({ ...pipelines, workDirectory: join(options.cacheDirectory, "pipelines", "aovift"), seedsRoot: join(options.root, "seeds") }) as StructuredToolInterface[]),
  ];
}

/** Registers the built-in platforms, policies, operators, tool names and specs. */
function registerBuiltins(options: ComposeOptions): { registrar: Registrar; closeBuiltins: () => Promise<void> } {
  const builtin = createBuiltinPlatforms({
    python: options.python,
    pythonPath: options.pythonPath,
    cwd: options.root,
    environment: options.environment,
    compileCacheDirectory: join(options.cacheDirectory, "compile"),
  });
  const registrar: Registrar = {
    platforms: builtin.registry,
    operators: new Registry<OperatorProvider>("operator"),
    policies: createPolicyRegistry(),
    specs: new Registry<SpecEntry & { id: string }>("spec"),
    pluginTools: [],
    pluginPlatforms: [],
    // Seed kernels come from the repository's seeds/kernels, a `seeds/` folder beside a specs folder
    // (pipeline profiles write one), and the seed folders plugins declare.
    seedRoots: [join(options.root, "seeds", "kernels")],
    docsFolders: [join(options.root, "seeds", "docs")],
    origins: new Map(),
  };
  for (const id of registrar.platforms.ids()) registrar.origins.set(`platform:${id}`, "built-in");
  for (const id of registrar.policies.ids()) registrar.origins.set(`policy:${id}`, "built-in");
  for (const provider of builtinOperators({ root: options.root, model: options.model })) registerItem(registrar, registrar.operators, "operator", provider, "built-in");
  registerToolNames(registrar, [...KERNEL_TOOL_NAMES, SEARCH_DOCS_TOOL_NAME, ...pipelineTools(options).map((tool) => tool.name)], "built-in");
  for (const folder of options.specsDirectories ?? []) {
    const seeds = seedsBeside(resolve(options.cwd, folder));
    if (seeds) registrar.seedRoots.push(seeds);
  }
  for (const entry of listSpecs({ root: options.root, cwd: options.cwd, extraDirectories: options.specsDirectories })) {
    registerItem(registrar, registrar.specs, "spec", { ...entry, id: entry.spec.id }, entry.origin);
  }
  return { registrar, closeBuiltins: () => builtin.close() };
}

/** The project's default ids, each checked against its registry (an unknown one lists those that exist). */
function checkedDefaults(options: ComposeOptions, registrar: Registrar): Composition["defaults"] {
  const defaults = {
    platform: options.defaults?.platform ?? DEFAULT_PLATFORM,
    operator: options.defaults?.operator ?? defaultOperatorId(options.model),
    policy: options.defaults?.policy ?? DEFAULT_POLICY,
  };
  const checks: [RegistryKind, Registry<{ id: string }>, string][] = [
    ["platform", registrar.platforms, defaults.platform],
    ["operator", registrar.operators, defaults.operator],
    ["policy", registrar.policies, defaults.policy],
  ];
  for (const [kind, registry, id] of checks) {
    if (!registry.has(id)) {
      const available = registry.ids().map((known) => `${known} (${registrar.origins.get(`${kind}:${known}`) ?? "built-in"})`);
      throw new UserError("unknown_id", `unknown default ${kind} '${id}' in the project config. Available: ${available.join(", ")}`);
    }
  }
  return defaults;
}

/**
 * Assembles the registries from the built-ins and the (already validated) plugins; a duplicate id
 * names both origins, an unknown default id lists the ids that exist.
 * @example const composition = await compose({ ...resolveEnvironment({ cwd }), plugins });
 */
export async function compose(options: ComposeOptions): Promise<Composition> {
  const { registrar, closeBuiltins } = registerBuiltins(options);
  const closeLocal = async () => {
    await Promise.allSettled([closeBuiltins(), ...registrar.pluginPlatforms.map((platform) => platform.close())]);
  };
  let defaults: Composition["defaults"];
  try {
    for (const loaded of options.plugins ?? []) await registerPlugin(registrar, loaded, options);
    defaults = checkedDefaults(options, registrar);
  } catch (error) {
    await closeLocal();
    throw error;
  }
  listSpecSeeds(registrar);
  const { specs, seedRoots, docsFolders, origins } = registrar;
  const specSeedRoots = new Map<string, string>();

  // With a fleet, every platform is evaluated by workers through the queue; the local ones stay unused here.
  const fleet = options.fleet ? fleetRegistry(registrar.platforms, options.fleet, (id) => origins.get(`platform:${id}`) ?? "built-in") : undefined;

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
    platforms: fleet?.registry ?? registrar.platforms,
    operators: registrar.operators,
    policies: registrar.policies,
    specs,
    pluginTools: registrar.pluginTools,
    docsFolders,
    defaults,
    originOf: (kind, id) => origins.get(`${kind}:${id}`) ?? "built-in",
    resolveSpec(argument) {
      if (!argument.trim()) throw new UserError("missing_spec", "no spec given: name a spec id (see 'kernelevolve specs') or a .yaml/.json file");
      if (specs.has(argument)) return specs.get(argument);
      if (looksLikeSpecPath(argument) || existsSync(resolve(options.cwd, argument))) {
        // A spec given as a file may have its seeds in a `seeds/` folder beside it.
        const path = resolve(options.cwd, argument);
        const entry = resolveSpec(argument, { root: options.root, cwd: options.cwd });
        const beside = seedsBeside(path);
        if (beside) {
          specSeedRoots.set(entry.spec.id, beside);
          const listed = specEntry(entry.spec, entry.origin, [beside, ...seedRoots]);
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
      return [createSearchDocsTool(await knowledgeStore()) as unknown as StructuredToolInterface, ...pipelineTools(options), ...registrar.pluginTools];
    },
    async close() {
      await Promise.allSettled([closeLocal(), ...(fleet ? [fleet.client.close()] : [])]);
    },
  };
}

/** What an entry point asks for; the rest comes from the project config when `projectConfig` is set. */
export interface CompositionRequest {
  environment: AppEnvironment;
  /** Environment variables handed to the Python runtime. */
  variables?: NodeJS.ProcessEnv;
  /** The model of the LLM operator; its prices come from the config's `models` entry unless set here. */
  model?: ModelConfig;
  /** Read kernelevolve.config.ts/.json in the environment's cwd (the CLI always does). */
  projectConfig?: boolean;
  /** Plugin objects or module paths (resolved against cwd), after the config's plugins. */
  plugins?: readonly (KernelEvolvePlugin | string)[];
  /** More folders of specs, after the config's. */
  specsDirectories?: string[];
  /** The fleet chosen by the caller (flags, environment); undefined falls back to the config's; false: the local runtime. */
  fleet?: Partial<FleetSettings> | false;
}

/**
 * Opens the composition an entry point uses: loads the project config (when asked) and the plugins, prices the model, picks the fleet.
 * @example const composition = await openComposition({ environment: resolveEnvironment({ cwd }), projectConfig: true });
 */
export async function openComposition(request: CompositionRequest): Promise<Composition> {
  return atBoundary("opening KernelEvolve", () => openWith(request));
}

async function openWith(request: CompositionRequest): Promise<Composition> {
  const { root, cwd, python, pythonPath, runsDirectory, cacheDirectory } = request.environment;
  const environment: AppEnvironment = { root, cwd, python, pythonPath, runsDirectory, cacheDirectory };
  const project = request.projectConfig ? await loadProjectConfig({ cwd: environment.cwd }) : { plugins: [], defaults: {}, specsDirectories: [], models: undefined, fleet: undefined };
  const price = request.model ? project.models?.[request.model.name] : undefined;
  const model = request.model && price ? { ...price, ...request.model } : request.model;
  const queue = request.fleet === false ? undefined : (request.fleet?.queue ?? project.fleet?.queue);
  return compose({
    ...environment,
    environment: request.variables,
    model,
    plugins: checkUniquePlugins([...project.plugins, ...(await loadPlugins(request.plugins ?? [], environment.cwd))]),
    defaults: project.defaults,
    specsDirectories: [...project.specsDirectories, ...(request.specsDirectories ?? [])],
    fleet: queue ? { queue, tag: (request.fleet || undefined)?.tag ?? project.fleet?.tag } : undefined,
  });
}
