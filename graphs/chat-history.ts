import { AIMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";

/**
 * Keeping a chat thread valid and bounded. Providers reject a history in which an assistant tool
 * call has no tool answer (HTTP 400), so a thread broken by a malformed call or a process killed
 * mid-tool would fail forever; and a history that only grows ends up too large to send. These
 * functions repair the first and trim the second, without a model call.
 */

/** Rough token count of a text (4 characters per token, as the model accounting estimates). */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function textOf(message: BaseMessage): string {
  if (typeof message.content === "string") return message.content;
  return message.content.map((part) => ("text" in part && typeof part.text === "string" ? part.text : "")).join("");
}

function messageTokens(message: BaseMessage): number {
  const calls = AIMessage.isInstance(message) ? JSON.stringify(message.tool_calls ?? []).length / 4 : 0;
  return estimateTokens(textOf(message)) + Math.ceil(calls) + 4;
}

/** Every call id an assistant message carries: parsed calls, unparsable ones and raw provider calls. */
function callIdsOf(message: AIMessage): { id: string; name: string }[] {
  const calls = new Map<string, string>();
  for (const call of message.tool_calls ?? []) if (call.id) calls.set(call.id, call.name);
  for (const call of message.invalid_tool_calls ?? []) if (call.id) calls.set(call.id, call.name ?? "unknown");
  const raw = (message.additional_kwargs?.tool_calls ?? []) as { id?: string; function?: { name?: string } }[];
  for (const call of raw) if (call.id && !calls.has(call.id)) calls.set(call.id, call.function?.name ?? "unknown");
  return [...calls].map(([id, name]) => ({ id, name }));
}

/**
 * An assistant message whose unparsable calls are listed as calls with empty arguments, so that
 * the message sent back to the provider names every call id that a tool answer refers to.
 */
export function withInvalidCallsListed(message: AIMessage): AIMessage {
  const invalid = (message.invalid_tool_calls ?? []).filter((call) => call.id && !(message.tool_calls ?? []).some((other) => other.id === call.id));
  if (!invalid.length) return message;
  return new AIMessage({
    content: message.content,
    id: message.id,
    name: message.name,
    additional_kwargs: message.additional_kwargs,
    response_metadata: message.response_metadata,
    usage_metadata: message.usage_metadata,
    tool_calls: [...(message.tool_calls ?? []), ...invalid.map((call) => ({ id: call.id!, name: call.name ?? "unknown", args: {}, type: "tool_call" as const }))],
    invalid_tool_calls: message.invalid_tool_calls,
  });
}

/**
 * Repairs a thread: every assistant tool call gets a tool answer (a synthetic error saying that no
 * answer was recorded) right after its message, and unparsable calls are listed as calls. Returns
 * the repaired list and how many answers were added (0: the thread was already valid).
 */
export function repairToolCalls(messages: BaseMessage[]): { messages: BaseMessage[]; repaired: number } {
  const answered = new Set(messages.filter((message) => ToolMessage.isInstance(message)).map((message) => (message as ToolMessage).tool_call_id));
  const result: BaseMessage[] = [];
  let repaired = 0;
  let changed = false;
  for (const message of messages) {
    if (!AIMessage.isInstance(message)) {
      result.push(message);
      continue;
    }
    const listed = withInvalidCallsListed(message);
    if (listed !== message) changed = true;
    result.push(listed);
    for (const call of callIdsOf(message)) {
      if (answered.has(call.id)) continue;
      repaired++;
      result.push(
        new ToolMessage({
          tool_call_id: call.id,
          name: call.name,
          status: "error",
          content: `Error: no answer was recorded for this call to ${call.name} (the session ended, or the call could not be read, before it ran). Call it again if you still need it.`,
        }),
      );
    }
  }
  // Tool answers must directly follow their assistant message: move any that drifted.
  return { messages: repaired || changed ? orderToolAnswers(result) : messages, repaired };
}

function orderToolAnswers(messages: BaseMessage[]): BaseMessage[] {
  const answers = new Map<string, ToolMessage>();
  for (const message of messages) if (ToolMessage.isInstance(message)) answers.set(message.tool_call_id, message);
  const placed = new Set<string>();
  const ordered: BaseMessage[] = [];
  for (const message of messages) {
    if (ToolMessage.isInstance(message)) continue;
    ordered.push(message);
    if (AIMessage.isInstance(message)) {
      for (const call of callIdsOf(message)) {
        const answer = answers.get(call.id);
        if (answer && !placed.has(call.id)) {
          ordered.push(answer);
          placed.add(call.id);
        }
      }
    }
  }
  return ordered;
}

/** Limits of what a chat sends to its model. */
export interface HistoryBudget {
  /** Most estimated tokens of the whole history sent with a request. */
  maxTokens: number;
  /** Most estimated tokens of one message; longer ones are cut in the middle with a note. */
  maxMessageTokens: number;
}

export const DEFAULT_HISTORY_BUDGET: HistoryBudget = { maxTokens: 24_000, maxMessageTokens: 4_000 };

/** A text cut to about `maxTokens`, keeping its head and tail, with a note of what was left out. */
export function truncateText(text: string, maxTokens: number): string {
  const limit = maxTokens * 4;
  if (text.length <= limit) return text;
  const head = text.slice(0, Math.floor(limit * 0.7));
  const tail = text.slice(text.length - Math.floor(limit * 0.2));
  return `${head}\n[... ${text.length - head.length - tail.length} characters left out of this ${text.length}-character message ...]\n${tail}`;
}

function shortened(message: BaseMessage, maxTokens: number): BaseMessage {
  const text = textOf(message);
  if (estimateTokens(text) <= maxTokens) return message;
  const content = truncateText(text, maxTokens);
  if (ToolMessage.isInstance(message)) return new ToolMessage({ content, tool_call_id: message.tool_call_id, name: message.name, status: message.status, id: message.id });
  if (AIMessage.isInstance(message)) return new AIMessage({ content, tool_calls: message.tool_calls, id: message.id, additional_kwargs: message.additional_kwargs });
  const Constructor = message.constructor as new (fields: { content: string; id?: string }) => BaseMessage;
  return new Constructor({ content, id: message.id });
}

/**
 * What is sent to the model: the repaired thread, each message cut to maxMessageTokens, then the
 * newest messages that fit maxTokens, starting at a user message (a tool answer is never separated
 * from its call). The stored thread keeps everything.
 */
export function historyForModel(messages: BaseMessage[], budget: HistoryBudget = DEFAULT_HISTORY_BUDGET): { messages: BaseMessage[]; dropped: number } {
  const repaired = repairToolCalls(messages).messages.map((message) => shortened(message, budget.maxMessageTokens));
  let total = 0;
  let start = repaired.length;
  for (let index = repaired.length - 1; index >= 0; index--) {
    total += messageTokens(repaired[index]);
    if (total > budget.maxTokens) break;
    start = index;
  }
  // Begin on a user message so the kept part is a whole exchange.
  while (start < repaired.length && repaired[start].getType() !== "human") start++;
  if (start >= repaired.length) {
    // Even the last exchange is over budget: keep the last user message and what followed it.
    const lastHuman = repaired.map((message) => message.getType()).lastIndexOf("human");
    start = Math.max(0, lastHuman);
  }
  return { messages: repaired.slice(start), dropped: start };
}
