import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { AIMessage, HumanMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import { END, MessagesAnnotation, START, StateGraph, type BaseCheckpointSaver } from "@langchain/langgraph";
import { ToolNode, toolsCondition } from "@langchain/langgraph/prebuilt";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import type { ChatAgent } from "../agents/chat-agent.js";
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
  | { type: "run-event"; event: OptimizeEvent };

/** The outcome of one user message. */
export interface ChatTurn {
  reply: string;
  toolCalls: { name: string; args: Record<string, unknown>; result?: string }[];
}

/** Builds the compiled chat graph over an agent and a checkpointer. */
export function buildChatGraph(agent: ChatAgent, checkpointer: BaseCheckpointSaver) {
  return new StateGraph(MessagesAnnotation)
    .addNode("agent", async (state, config) => ({ messages: [await agent.respond(state.messages, config.signal)] }))
    .addNode("tools", new ToolNode(agent.tools))
    .addEdge(START, "agent")
    .addConditionalEdges("agent", toolsCondition, ["tools", END])
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

/** One conversation thread over the chat graph. */
export class ChatSession {
  private readonly graph: ReturnType<typeof buildChatGraph>;

  constructor(
    agent: ChatAgent,
    private readonly checkpointer: BaseCheckpointSaver,
    readonly threadId: string,
    private readonly onEvent?: (event: ChatEvent) => void,
    private readonly recursionLimit = 60,
  ) {
    this.graph = buildChatGraph(agent, checkpointer);
  }

  private get config() {
    return { configurable: { thread_id: this.threadId }, recursionLimit: this.recursionLimit };
  }

  /** Sends a user message and runs the agent (and its tool calls) until it answers. */
  async send(text: string, signal?: AbortSignal): Promise<ChatTurn> {
    const turn: ChatTurn = { reply: "", toolCalls: [] };
    const stream = await this.graph.stream({ messages: [new HumanMessage(text)] }, { ...this.config, streamMode: "updates", signal });
    for await (const update of stream) {
      for (const [node, value] of Object.entries(update as Record<string, { messages?: BaseMessage[] }>)) {
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
