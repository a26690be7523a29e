import { join } from "node:path";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { ToolInputParsingException, type StructuredToolInterface } from "@langchain/core/tools";
import { UserError } from "../core/errors.js";
import { createChatAgent } from "../agents/chat-agent.js";
import { ChatSession, openChatCheckpointer, type ChatEvent, type ChatTurn } from "../graphs/chat.js";
import type { HistoryBudget } from "../graphs/chat-history.js";
import { createKernelTools } from "../tools/kernel-tools.js";
import type { Composition } from "./composition.js";
import { KernelActionService, type KernelActionServiceOptions } from "./kernel-actions.js";
import { DEFAULT_BUDGET } from "./run-request.js";

/**
 * A chat over a composition: the product's actions (with background runs), the tools over them
 * (kernel tools, search_docs, pipeline and plugin tools) and, when a model is given, the chat graph
 * persisted per thread id.
 */

export interface KernelChatOptions {
  composition: Composition;
  /** A tool-calling chat model; without one only the actions and tools are usable (slash commands). */
  model?: BaseChatModel;
  /** Conversation id; the same id continues the conversation. Default: "default". */
  threadId?: string;
  /** SQLite file of the conversations; default <runsDirectory>/chat/threads.sqlite. */
  checkpointPath?: string;
  /** Receives tool calls, tool results, replies and the events of runs started in the chat. */
  onEvent?: (event: ChatEvent) => void;
  /** Evaluation options of runs started in the chat (the budget default is DEFAULT_BUDGET, as for every run). */
  runs?: KernelActionServiceOptions;
  systemPrompt?: string;
  /** The model's name, for /model. */
  modelName?: string;
  /** Builds a chat model by name, for /model NAME (the CLI passes one over the same endpoint). */
  createModel?: (name: string) => BaseChatModel;
  /** What each request sends (default: 24k tokens of history, 4k per message). */
  historyBudget?: HistoryBudget;
  /** Report the reply's text as `token` events while it streams in (a terminal shows it live). */
  streamTokens?: boolean;
}

/** An open chat: send messages (with a model), or use actions/tools directly (offline). */
export interface KernelChat {
  readonly threadId: string;
  readonly actions: KernelActionService;
  readonly tools: StructuredToolInterface[];
  /** Whether a model answers free text. */
  readonly hasModel: boolean;
  /** Sends a message to the model; throws when no model is configured. */
  send(text: string, signal?: AbortSignal): Promise<ChatTurn>;
  /** Calls one tool by name with arguments, as the model would. */
  callTool(name: string, args: Record<string, unknown>): Promise<string>;
  /** Messages of the thread so far. */
  history(): Promise<import("@langchain/core/messages").BaseMessage[]>;
  /** The model answering now, if any. */
  readonly modelName?: string;
  /** Switches to another model by name for the rest of the session (the thread is kept). */
  setModel(name: string): void;
  /** Forgets this thread's conversation; runs and their results are kept. */
  reset(): Promise<void>;
  /** Stops runs still going and closes the conversation store (not the composition). */
  close(): Promise<void>;
}

/**
 * Opens a chat over a composition.
 * @example const chat = await openKernelChat({ composition, model, threadId: "tuning-rmsnorm" }); await chat.send("optimise rmsnorm");
 */
export async function openKernelChat(options: KernelChatOptions): Promise<KernelChat> {
  const actions = new KernelActionService(options.composition, options.runs);
  const unsubscribe = actions.onRunEvent((event) => options.onEvent?.({ type: "run-event", event }));
  const tools = [...createKernelTools(actions, { policyIds: options.composition.policies.ids(), defaultBudget: DEFAULT_BUDGET }), ...(await options.composition.extraTools())];
  const threadId = options.threadId ?? "default";
  let session: ChatSession | undefined;
  let modelName = options.model ? (options.modelName ?? options.model.getName()) : undefined;
  if (options.model) {
    const agent = createChatAgent({ model: options.model, tools, systemPrompt: options.systemPrompt });
    const checkpointer = openChatCheckpointer(options.checkpointPath ?? join(options.composition.options.runsDirectory, "chat", "threads.sqlite"));
    session = new ChatSession(agent, checkpointer, threadId, options.onEvent, 60, { budget: options.historyBudget, streamTokens: options.streamTokens });
  }
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  return {
    threadId,
    actions,
    tools,
    hasModel: Boolean(session),
    get modelName() {
      return modelName;
    },
    setModel(name) {
      if (!session || !options.createModel) throw new UserError("no_model", "no chat model is configured, so there is none to switch: start the chat with --model (or KERNELEVOLVE_MODEL)");
      session.setAgent(createChatAgent({ model: options.createModel(name), tools, systemPrompt: options.systemPrompt }));
      modelName = name;
    },
    async reset() {
      if (session) await session.reset();
    },
    async send(text, signal) {
      if (!session) throw new UserError("no_model", "no chat model is configured: pass a model (or --model) to chat in free text, or use the slash commands");
      return session.send(text, signal);
    },
    async callTool(name, args) {
      const tool = byName.get(name);
      if (!tool) return `No tool named '${name}'. Available: ${[...byName.keys()].join(", ")}`;
      let result: unknown;
      try {
        result = await tool.invoke(args);
      } catch (error) {
        // Arguments that miss the tool's schema are the caller's to fix, as they are for the model.
        if (error instanceof ToolInputParsingException) return `Bad arguments for ${name}: ${error.message}`;
        throw error;
      }
      return typeof result === "string" ? result : JSON.stringify(result, null, 2);
    },
    history: async () => (session ? session.history() : []),
    async close() {
      unsubscribe();
      await actions.close();
      session?.close();
    },
  };
}
