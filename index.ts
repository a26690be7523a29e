/**
 * The library API of KernelEvolve: the same composition the CLI uses (built-ins plus plugins),
 * behind four functions.
 *
 * @example
 * import { optimize } from "kernelevolve";
 * const run = optimize({ spec: "rmsnorm", budget: { candidates: 8 }, evaluation: { sizes: ["small"] } });
 * for await (const event of run) if (event.type === "best-improved") console.log(event.fitness);
 * const result = await run.result;
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { BaseMessage } from "@langchain/core/messages";
import type { StructuredToolInterface } from "@langchain/core/tools";
import { validatePlugin, type KernelEvolvePlugin } from "./core/plugin.js";
import { parseSpec } from "./core/spec-loader.js";
import type { KernelSpec } from "./core/spec.js";
import type { CandidateSource, EvaluationOptions, EvaluationResult } from "./core/protocol.js";
import type { Operator, SelectionPolicy } from "./core/types.js";
import type { ModelConfig } from "./agents/models.js";
import { optimize as runOptimize, type OptimizeResult } from "./graphs/evolve/optimize.js";
import { streamEvents, type EventStream } from "./graphs/evolve/event-stream.js";
import type { OptimizeEvent } from "./graphs/evolve/events.js";
import type { RunSettingsInput } from "./graphs/evolve/options.js";
import type { SeedKernel } from "./graphs/evolve/seeds.js";
import type { ChatEvent, ChatTurn } from "./graphs/chat.js";
import { compose, type Composition } from "./cli/compose.js";
import { REPOSITORY_ROOT } from "./cli/context.js";
import { loadPluginModule, loadProjectConfig, type LoadedPlugin } from "./cli/plugins.js";
import { openKernelChat } from "./cli/chat-session.js";
import type { KernelActionService, KernelActionServiceOptions } from "./cli/kernel-actions.js";
import { runSlashCommand, type SlashResult } from "./cli/slash-commands.js";

export { definePlugin } from "./core/plugin.js";
export type { KernelEvolvePlugin, PluginContext, PluginTool, Contribution } from "./core/plugin.js";
export type { Platform, PlatformCapabilities, Operator, OperatorContext, Proposal, SelectionPolicy, CandidateRecord, ContextProvider } from "./core/types.js";
export type { KernelSpec } from "./core/spec.js";
export type { CandidateSource, EvaluationOptions, EvaluationResult, HardwareProfile } from "./core/protocol.js";
export type { OptimizeEvent, OptimizeEventType, RunProgress } from "./graphs/evolve/events.js";
export type { OptimizeResult } from "./graphs/evolve/optimize.js";
export type { ChatEvent, ChatTurn } from "./graphs/chat.js";
export { KernelEvolveError, UserError, ModelError, PlatformError, SystemError } from "./core/errors.js";

/** Where KernelEvolve finds its runtime and writes its files, and which plugins it loads. */
export interface EnvironmentOptions {
  /** The user's folder: spec paths resolve here and runs go to <cwd>/runs by default. */
  cwd?: string;
  /** Python of the runtime; default $KERNELEVOLVE_PYTHON, else <repository>/.venv/bin/python, else python3. */
  python?: string;
  runsDirectory?: string;
  cacheDirectory?: string;
  /** Plugin objects, or paths of plugin modules (resolved against cwd). */
  plugins?: (KernelEvolvePlugin | string)[];
  /** Also read kernelevolve.config.ts/.json in cwd, as the CLI does (default false). */
  projectConfig?: boolean;
  /** More folders of specs. */
  specsDirectories?: string[];
  /** Model of the llm operator (optimize) ; the chat takes a model object instead. */
  model?: ModelConfig;
}

async function loadPlugins(options: EnvironmentOptions, cwd: string): Promise<LoadedPlugin[]> {
  const loaded: LoadedPlugin[] = [];
  for (const [index, entry] of (options.plugins ?? []).entries()) {
    if (typeof entry === "string") loaded.push(await loadPluginModule(resolve(cwd, entry)));
    else loaded.push({ plugin: validatePlugin(entry, `plugins[${index}]`), path: `plugins[${index}]`, directory: cwd });
  }
  return loaded;
}

/** Builds the composition for a library call (the CLI builds its own from argv and the environment). */
export async function createComposition(options: EnvironmentOptions = {}): Promise<Composition> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const venvPython = join(REPOSITORY_ROOT, ".venv", "bin", "python");
  const project = options.projectConfig ? await loadProjectConfig({ cwd }) : { plugins: [], defaults: {}, specsDirectories: [] };
  return compose({
    root: REPOSITORY_ROOT,
    cwd,
    python: options.python ?? process.env.KERNELEVOLVE_PYTHON ?? (existsSync(venvPython) ? venvPython : "python3"),
    pythonPath: join(REPOSITORY_ROOT, "python"),
    runsDirectory: resolve(cwd, options.runsDirectory ?? "runs"),
    cacheDirectory: resolve(cwd, options.cacheDirectory ?? join(REPOSITORY_ROOT, ".cache")),
    model: options.model,
    plugins: [...project.plugins, ...(await loadPlugins(options, cwd))],
    defaults: project.defaults,
    specsDirectories: [...project.specsDirectories, ...(options.specsDirectories ?? [])],
  });
}

function specOf(composition: Composition, spec: string | KernelSpec): KernelSpec {
  return typeof spec === "string" ? composition.resolveSpec(spec).spec : parseSpec(spec, "the spec object passed to the library");
}

/** What optimize() takes: a spec, optional ids or objects for the parts, and the run's settings. */
export interface OptimizeRequest extends EnvironmentOptions, RunSettingsInput {
  /** A spec id, a spec file path, or a spec object. */
  spec: string | KernelSpec;
  /** Platform id (default cpu). */
  platform?: string;
  /** Operator id ('autotune', 'llm' or a plugin's) or an operator object. */
  operator?: string | Operator;
  /** Policy id or object (default greedy). */
  policy?: string | SelectionPolicy;
  /** Seed kernels; default those of seeds/kernels for the spec and platform. */
  seeds?: SeedKernel[];
  runId?: string;
  /** Called with every event, as well as the async iterator. */
  onEvent?: (event: OptimizeEvent) => void;
  signal?: AbortSignal;
}

/** A run in progress: iterate its events; `result` settles when it ends; `stop()` ends it at a safe point. */
export interface OptimizeRun extends EventStream<OptimizeResult> {
  stop(): void;
}

/**
 * Optimises a spec; returns at once with an async iterator of typed events and the result promise.
 * @example const result = await optimize({ spec: "row-sum-squares", budget: { candidates: 6 } }).result;
 */
export function optimize(request: OptimizeRequest): OptimizeRun {
  const controller = new AbortController();
  request.signal?.addEventListener("abort", () => controller.abort(), { once: true });
  const { spec, platform, operator, policy, seeds, runId, onEvent, signal: _signal, cwd, python, runsDirectory, cacheDirectory, plugins, projectConfig, specsDirectories, model, ...settings } =
    request;
  const stream = streamEvents(async (emit) => {
    const composition = await createComposition({ cwd, python, runsDirectory, cacheDirectory, plugins, projectConfig, specsDirectories, model });
    try {
      const chosenSpec = specOf(composition, spec);
      const chosenPlatform = composition.platforms.get(platform ?? composition.defaults.platform);
      const chosenSeeds = seeds ?? composition.seedsFor(chosenSpec, chosenPlatform);
      const chosenOperator =
        typeof operator === "object" ? operator : composition.operators.get(operator ?? composition.defaults.operator).create({ spec: chosenSpec, platform: chosenPlatform, seeds: chosenSeeds });
      const chosenPolicy = typeof policy === "object" ? policy : composition.policies.get(policy ?? composition.defaults.policy);
      return await runOptimize({
        ...settings,
        spec: chosenSpec,
        platform: chosenPlatform,
        operator: chosenOperator,
        policy: chosenPolicy,
        seeds: chosenSeeds,
        runId,
        runsDirectory: composition.options.runsDirectory,
        // The autotuner writes no prompt; every other operator reads the knowledge base and past runs.
        contextProvider: chosenOperator.id === "autotune" ? undefined : await composition.contextProvider(),
        experience: await composition.experienceMemory(),
        signal: controller.signal,
        onEvent: (event) => {
          onEvent?.(event);
          emit(event);
        },
      });
    } finally {
      await composition.close();
    }
  });
  return Object.assign(stream, { stop: () => controller.abort() });
}

/** What evaluate() takes: a spec, a kernel and where to run it. */
export interface EvaluateRequest extends EnvironmentOptions {
  spec: string | KernelSpec;
  candidate: CandidateSource;
  /** Platform id; default: the first one that targets the spec and runs the candidate's language. */
  platform?: string;
  options?: EvaluationOptions;
  signal?: AbortSignal;
}

/**
 * Compiles, checks and times one kernel against a spec; a failing kernel is a result, not an error.
 * @example const verdict = await evaluate({ spec: "gelu", candidate: { language: "cpp", source } });
 */
export async function evaluate(request: EvaluateRequest): Promise<EvaluationResult> {
  const composition = await createComposition(request);
  try {
    const spec = specOf(composition, request.spec);
    const platformId =
      request.platform ?? composition.platforms.values().find((platform) => spec.targets.includes(platform.id) && platform.languages.includes(request.candidate.language))?.id ?? composition.defaults.platform;
    return await composition.platforms.get(platformId).evaluate(spec, request.candidate, request.options, request.signal);
  } finally {
    await composition.close();
  }
}

/** What createChatSession() takes. */
export interface ChatSessionRequest extends Omit<EnvironmentOptions, "model"> {
  /** A tool-calling chat model (e.g. ChatOpenAI); without one, use `command()` and `callTool()`. */
  model?: BaseChatModel;
  /** Conversation id; reusing it continues the conversation. */
  threadId?: string;
  /** SQLite file of conversations; default <runsDirectory>/chat/threads.sqlite. */
  checkpointPath?: string;
  onEvent?: (event: ChatEvent) => void;
  /** Defaults of runs the chat starts (budget, evaluation options). */
  runs?: KernelActionServiceOptions;
  systemPrompt?: string;
}

/** A chat with KernelEvolve. */
export interface ChatSessionHandle {
  readonly threadId: string;
  readonly tools: StructuredToolInterface[];
  readonly actions: KernelActionService;
  /** Sends a message to the model (needs a model). */
  send(text: string, signal?: AbortSignal): Promise<ChatTurn>;
  /** Runs a slash command such as "/optimize rmsnorm --budget 6" (works without a model). */
  command(line: string): Promise<SlashResult>;
  callTool(name: string, args: Record<string, unknown>): Promise<string>;
  history(): Promise<BaseMessage[]>;
  /** Stops runs still going and releases the runtime. */
  close(): Promise<void>;
}

/**
 * Opens a chat session (persisted per thread id when a model is given).
 * @example const chat = await createChatSession({ model, threadId: "t1" }); const turn = await chat.send("optimise rmsnorm");
 */
export async function createChatSession(request: ChatSessionRequest = {}): Promise<ChatSessionHandle> {
  const composition = await createComposition({ ...request, model: undefined });
  try {
    const chat = await openKernelChat({
      composition,
      model: request.model,
      threadId: request.threadId,
      checkpointPath: request.checkpointPath,
      onEvent: request.onEvent,
      runs: request.runs,
      systemPrompt: request.systemPrompt,
    });
    return {
      threadId: chat.threadId,
      tools: chat.tools,
      actions: chat.actions,
      send: (text, signal) => chat.send(text, signal),
      command: (line) => runSlashCommand(chat, line),
      callTool: (name, args) => chat.callTool(name, args),
      history: () => chat.history(),
      async close() {
        await chat.close();
        await composition.close();
      },
    };
  } catch (error) {
    await composition.close();
    throw error;
  }
}
