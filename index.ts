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
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { BaseMessage } from "@langchain/core/messages";
import type { StructuredToolInterface } from "@langchain/core/tools";
import type { KernelEvolvePlugin } from "./core/plugin.js";
import type { KernelSpec } from "./core/spec.js";
import type { CandidateSource, EvaluationOptions, EvaluationResult } from "./core/protocol.js";
import type { ModelConfig } from "./agents/models.js";
import type { OptimizeResult } from "./graphs/evolve/optimize.js";
import { streamEvents, type EventStream } from "./graphs/evolve/event-stream.js";
import type { OptimizeEvent } from "./graphs/evolve/events.js";
import type { ChatTurn } from "./graphs/chat.js";
import { UserError } from "./core/errors.js";
import {
  asKernelEvolveError,
  atBoundary,
  evaluateKernel,
  openComposition,
  openKernelChat,
  resolveEnvironment,
  runSlashCommand,
  startRun,
  type Composition,
  type KernelActionService,
  type KernelChatOptions,
  type RunRequest,
  type SlashResult,
} from "./app/index.js";

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

/**
 * Builds the composition for a library call (the CLI builds its own from argv and the environment).
 * Bad input (an unknown plugin path, an invalid plugin, a bad config) is a KernelEvolveError.
 */
export async function createComposition(options: EnvironmentOptions = {}): Promise<Composition> {
  return openComposition({
    environment: resolveEnvironment({ cwd: options.cwd, python: options.python ?? process.env.KERNELEVOLVE_PYTHON, runsDirectory: options.runsDirectory, cacheDirectory: options.cacheDirectory }),
    model: options.model,
    projectConfig: options.projectConfig,
    plugins: options.plugins,
    specsDirectories: options.specsDirectories,
    // The library evaluates with the local runtime (the fleet is the CLI's, docs/fleet.md).
    fleet: false,
  });
}

/** What optimize() takes: a spec, optional ids or objects for the parts, and the run's settings. */
export interface OptimizeRequest extends EnvironmentOptions, Omit<RunRequest, "metadata"> {
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
  if (!request || typeof request !== "object") throw new UserError("invalid_request", `optimize() takes a request object such as { spec: "rmsnorm" }, got ${request === null ? "null" : typeof request}`);
  const controller = new AbortController();
  request.signal?.addEventListener("abort", () => controller.abort(), { once: true });
  const { spec, platform, operator, policy, seeds, runId, onEvent, signal: _signal, cwd, python, runsDirectory, cacheDirectory, plugins, projectConfig, specsDirectories, model, ...settings } =
    request;
  const stream = streamEvents(async (emit) => {
    const composition = await createComposition({ cwd, python, runsDirectory, cacheDirectory, plugins, projectConfig, specsDirectories, model });
    try {
      const onRunEvent = (event: OptimizeEvent) => {
        onEvent?.(event);
        emit(event);
      };
      return await startRun(composition, { ...settings, spec, platform, operator, policy, seeds, runId }, { onEvent: onRunEvent, signal: controller.signal });
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
  /** Platform id; default: the default platform when it runs the candidate's language and the spec targets it, else the first one that does. */
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
    return (await evaluateKernel(composition, request, request.signal)).result;
  } finally {
    await composition.close();
  }
}

/** What createChatSession() takes. */
export interface ChatSessionRequest extends Omit<EnvironmentOptions, "model">, Pick<KernelChatOptions, "threadId" | "checkpointPath" | "onEvent" | "runs" | "systemPrompt"> {
  /** A tool-calling chat model (e.g. ChatOpenAI); without one, use `command()` and `callTool()`. */
  model?: BaseChatModel;
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
      send: (text, signal) => atBoundary("the chat turn", () => chat.send(text, signal)),
      command: (line) => atBoundary("the slash command", () => runSlashCommand(chat, line)),
      callTool: (name, args) => atBoundary(`the tool ${name}`, () => chat.callTool(name, args)),
      history: () => atBoundary("reading the chat history", () => chat.history()),
      async close() {
        await chat.close();
        await composition.close();
      },
    };
  } catch (error) {
    await composition.close();
    throw asKernelEvolveError(error, "opening the chat");
  }
}
