import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { AIMessage, AIMessageChunk, HumanMessage, RemoveMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import type { RunnableConfig } from "@langchain/core/runnables";
import { ToolInputParsingException, type StructuredToolInterface } from "@langchain/core/tools";
import { END, MessagesAnnotation, REMOVE_ALL_MESSAGES, START, StateGraph, type BaseCheckpointSaver } from "@langchain/langgraph";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import type { ChatAgent } from "../agents/chat-agent.js";
import { DEFAULT_HISTORY_BUDGET, historyForModel, repairToolCalls, withInvalidCallsListed, type HistoryBudget } from "./chat-history.js";
import type { OptimizeEvent } from "./evolve/events.js";

/**
 * The chat graph: agent -> tools -> agent until the model answers without tool calls. The
 * conversation is the graph state, checkpointed per thread id, so `chat --thread ID` resumes it.
 */

/** What a session reports while it works (and, for run events, between turns). */
export type ChatEvent =
  | { type: "tool-call"; name: string; args: Record<string, unknown>; id?: string }
  | { type: "tool-result"; name: string; content: string; id?: string }
  | { type: "assistant"; text: string }
  /** A piece of the model's reply as it streams in (only text; tool calls come as tool-call events). */
  | { type: "token"; text: string }
  /** The thread was repaired on load: `added` tool answers were missing (a malformed call, a killed process). */
  | { type: "thread-repaired"; added: number }
  | { type: "run-event"; event: OptimizeEvent };

/** The outcome of one user message. */
export interface ChatTurn {
  reply: string;
  toolCalls: { name: string; args: Record<string, unknown>; result?: string }[];
}

function errorText(error: unknown): string {
  return ((error as Error)?.message ?? String(error)).split("\n").slice(0, 6).join("\n");
}

/**
 * Runs the tool calls of the last assistant message. Every call gets an answer, so the thread stays
 * valid for the provider: an unknown tool, arguments that are not JSON or miss the schema, or a tool
 * that throws all come back as a tool error the model can read and correct.
 */
async function runToolCalls(message: AIMessage, tools: Map<string, StructuredToolInterface>, config: RunnableConfig): Promise<ToolMessage[]> {
  const answers: ToolMessage[] = [];
  const invalid = new Map((message.invalid_tool_calls ?? []).map((call) => [call.id, call]));
  const available = [...tools.keys()].join(", ");
  for (const call of message.tool_calls ?? []) {
    const id = call.id ?? "";
    const bad = invalid.get(id);
    const answer = (content: string, status: "success" | "error" = "error") => answers.push(new ToolMessage({ tool_call_id: id, name: call.name, status, content }));
    if (bad) {
      const received = (bad.args ?? "").length > 400 ? `${bad.args!.slice(0, 400)}...` : bad.args ?? "";
      answer(`Error: the arguments of your call to ${call.name} are not valid JSON (${bad.error ?? "could not be parsed"}), so it did not run. You sent: ${received}\nCall ${call.name} again with one complete JSON object.`);
      continue;
    }
    const tool = tools.get(call.name);
    if (!tool) {
      answer(`Error: there is no tool named '${call.name}'. Available tools: ${available}.`);
      continue;
    }
    try {
      const result = await tool.invoke(call.args, config);
      const content = typeof result === "string" ? result : ToolMessage.isInstance(result) ? String(result.content) : JSON.stringify(result, null, 2);
      answer(content, "success");
    } catch (error) {
      if (config.signal?.aborted) throw error;
      if (error instanceof ToolInputParsingException) answer(`Error: the arguments of ${call.name} do not match its schema: ${errorText(error)}\nCall it again with corrected arguments.`);
      else answer(`Error: ${call.name} failed: ${errorText(error)}`);
    }
  }
  return answers;
}

/** Builds the compiled chat graph over an agent and a checkpointer. */
export function buildChatGraph(agent: ChatAgent, checkpointer: BaseCheckpointSaver, budget: HistoryBudget = DEFAULT_HISTORY_BUDGET) {
  const tools = new Map(agent.tools.map((tool) => [tool.name, tool]));
  return new StateGraph(MessagesAnnotation)
    .addNode("agent", async (state, config) => {
      const { messages, dropped } = historyForModel(state.messages, budget);
      const reply = await agent.respond(messages, { ...config, omitted: dropped });
      // Unparsable calls are listed as calls, so the tool answers below refer to ids the provider knows.
      return { messages: [withInvalidCallsListed(reply)] };
    })
    .addNode("tools", async (state, config) => {
      const last = state.messages.at(-1);
      return { messages: last && AIMessage.isInstance(last) ? await runToolCalls(last, tools, config) : [] };
    })
    .addEdge(START, "agent")
    .addConditionalEdges("agent", (state) => {
      const last = state.messages.at(-1);
      return last && AIMessage.isInstance(last) && (last.tool_calls?.length ?? 0) > 0 ? "tools" : END;
    }, ["tools", END])
    .addEdge("tools", "agent")
    .compile({ checkpointer });
}

/** A SQLite checkpointer for chat threads at `path` (its folder is created). */
export function openChatCheckpointer(path: string): SqliteSaver {
  mkdirSync(dirname(path), { recursive: true });
  return SqliteSaver.fromConnString(path);
}

function textOf(message: BaseMessage): string {
  if (typeof message.content === "string") return message.content;
  return message.content.map((part) => ("text" in part && typeof part.text === "string" ? part.text : "")).join("");
}

/** Options of a chat session beyond its agent, store and thread. */
export interface ChatSessionOptions {
  /** What is sent to the model per request (the stored thread keeps everything). */
  budget?: HistoryBudget;
  /** Report the reply's text as `token` events while it streams in. */
  streamTokens?: boolean;
}

/** One conversation thread over the chat graph. */
export class ChatSession {
  private graph: ReturnType<typeof buildChatGraph>;
  private checked = false;

  constructor(
    agent: ChatAgent,
    private readonly checkpointer: BaseCheckpointSaver,
    readonly threadId: string,
    private readonly onEvent?: (event: ChatEvent) => void,
    private readonly recursionLimit = 60,
    private readonly options: ChatSessionOptions = {},
  ) {
    this.graph = buildChatGraph(agent, checkpointer, options.budget);
  }

  private get config() {
    return { configurable: { thread_id: this.threadId }, recursionLimit: this.recursionLimit };
  }

  /** Uses another agent (e.g. another model) from the next message on; the thread is kept. */
  setAgent(agent: ChatAgent): void {
    this.graph = buildChatGraph(agent, this.checkpointer, this.options.budget);
  }

  /**
   * Repairs the stored thread once per session: tool calls without an answer (a malformed call
   * stored by an older version, a process killed while a tool ran) get an error answer, so the
   * provider accepts the history again. Returns how many answers were added.
   */
  async repair(): Promise<number> {
    this.checked = true;
    const messages = await this.history();
    const { messages: repaired, repaired: added } = repairToolCalls(messages);
    if (repaired === messages) return 0;
    await this.graph.updateState(this.config, { messages: [new RemoveMessage({ id: REMOVE_ALL_MESSAGES }), ...repaired] }, "tools");
    if (added) this.onEvent?.({ type: "thread-repaired", added });
    return added;
  }

  /** Forgets the thread's conversation (its stored checkpoints); the next message starts afresh. */
  async reset(): Promise<void> {
    await this.checkpointer.deleteThread(this.threadId);
    this.checked = true;
  }

  /** Sends a user message and runs the agent (and its tool calls) until it answers. */
  async send(text: string, signal?: AbortSignal): Promise<ChatTurn> {
    if (!this.checked) await this.repair();
    const turn: ChatTurn = { reply: "", toolCalls: [] };
    const streamMode = this.options.streamTokens ? (["updates", "messages"] as const) : (["updates"] as const);
    const stream = await this.graph.stream({ messages: [new HumanMessage(text)] }, { ...this.config, streamMode: [...streamMode], signal });
    for await (const [mode, chunk] of stream as AsyncIterable<[string, unknown]>) {
      if (mode === "messages") {
        const [message, metadata] = chunk as [BaseMessage, { langgraph_node?: string }];
        if (metadata?.langgraph_node === "agent" && AIMessageChunk.isInstance(message)) {
          const piece = textOf(message);
          if (piece) this.onEvent?.({ type: "token", text: piece });
        }
        continue;
      }
      const update = chunk as Record<string, { messages?: BaseMessage[] }>;
      for (const [node, value] of Object.entries(update)) {
        for (const message of value?.messages ?? []) {
          if (node === "agent" && AIMessage.isInstance(message)) {
            for (const call of message.tool_calls ?? []) {
              turn.toolCalls.push({ name: call.name, args: call.args });
              this.onEvent?.({ type: "tool-call", name: call.name, args: call.args, id: call.id });
            }
            const said = textOf(message).trim();
            if (said) {
              turn.reply = said;
              this.onEvent?.({ type: "assistant", text: said });
            }
          } else if (ToolMessage.isInstance(message)) {
            const content = textOf(message);
            const call = [...turn.toolCalls].reverse().find((item) => item.name === message.name && item.result === undefined);
            if (call) call.result = content;
            this.onEvent?.({ type: "tool-result", name: message.name ?? "tool", content, id: message.tool_call_id });
          }
        }
      }
    }
    return turn;
  }

  /** The thread's messages so far (empty for a new thread). */
  async history(): Promise<BaseMessage[]> {
    const state = await this.graph.getState(this.config);
    return (state.values as { messages?: BaseMessage[] }).messages ?? [];
  }

  /** Closes the checkpointer's database when it is a SqliteSaver. */
  close(): void {
    const db = (this.checkpointer as { db?: { close(): void; open?: boolean } }).db;
    if (db?.open) db.close();
  }
}
