import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, AIMessageChunk, SystemMessage, type BaseMessage } from "@langchain/core/messages";
import type { RunnableConfig } from "@langchain/core/runnables";
import type { StructuredToolInterface } from "@langchain/core/tools";
import { UserError } from "../core/errors.js";

/**
 * The chat role: a tool-calling model that runs KernelEvolve for a person. It owns the system
 * prompt and the tool binding; the conversation loop and its persistence live in graphs/chat.ts.
 */

/** The chat agent's standing instructions; the tool list is appended per session. */
export const CHAT_SYSTEM_PROMPT = `You are KernelEvolve's assistant. You help engineers turn kernel specifications into
verified, faster kernels (CPU C++/OpenMP, CUDA, Triton) for recommendation and vision models.

How to work:
- Use the tools; never invent spec ids, run ids, speed-ups or kernel code. If you do not know, call a tool.
- To optimise: list_specs or explain_spec first when the spec is unclear, then start_optimization.
  It returns a run id at once; the run continues in the background. Use watch_run to follow it
  (wait_seconds waits for the end), then show_kernel, compare_kernels or show_report for the result.
- Every speed-up you quote comes from a tool result, with the run id and candidate id it belongs to.
- A failed candidate is normal evidence, not an error of yours: read its message and explain it.
- Use search_docs for hardware, language and error-message questions before answering from memory.
- Be brief: the numbers, what they mean, and the next useful step.`;

export interface ChatAgentOptions {
  model: BaseChatModel;
  tools: StructuredToolInterface[];
  /** Replaces CHAT_SYSTEM_PROMPT. */
  systemPrompt?: string;
}

/** The chat role as the chat graph uses it. */
export interface ChatAgent {
  readonly tools: StructuredToolInterface[];
  readonly systemPrompt: string;
  /**
   * The model's next message (text, tool calls or both) for a conversation. `config` carries the
   * abort signal and the callbacks through which a streaming caller receives tokens as they come.
   * `omitted` earlier messages were left out of `messages` to fit the history budget.
   */
  respond(messages: BaseMessage[], config?: RunnableConfig & { omitted?: number }): Promise<AIMessage>;
}

/** Renders the tool list into the system prompt, so even a model with weak tool support sees it. */
function withToolList(prompt: string, tools: StructuredToolInterface[]): string {
  const lines = tools.map((tool) => `- ${tool.name}: ${tool.description.split("\n")[0]}`);
  return `${prompt}\n\nTools available in this session:\n${lines.join("\n")}`;
}

/** Splits a streamed message's tool calls into those whose raw JSON arguments parse and those that do not. */
function strictToolCalls(chunk: AIMessageChunk): { valid: NonNullable<AIMessage["tool_calls"]>; invalid: NonNullable<AIMessage["invalid_tool_calls"]> } {
  const raw = new Map((chunk.tool_call_chunks ?? []).filter((call) => call.id).map((call) => [call.id!, call.args ?? ""]));
  const valid: NonNullable<AIMessage["tool_calls"]> = [];
  const invalid: NonNullable<AIMessage["invalid_tool_calls"]> = [];
  for (const call of chunk.tool_calls ?? []) {
    const args = call.id !== undefined ? raw.get(call.id) : undefined;
    if (args === undefined || args.trim() === "") {
      valid.push(call);
      continue;
    }
    try {
      const parsed = JSON.parse(args) as unknown;
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) valid.push(call);
      else invalid.push({ id: call.id, name: call.name, args, error: "the arguments are not a JSON object", type: "invalid_tool_call" });
    } catch (error) {
      invalid.push({ id: call.id, name: call.name, args, error: (error as Error).message, type: "invalid_tool_call" });
    }
  }
  return { valid, invalid };
}

/**
 * Builds the chat agent: the model bound to the tools, prompted with the system prompt.
 * @example const agent = createChatAgent({ model: new ChatOpenAI({ model: "gpt-4o-mini" }), tools });
 */
export function createChatAgent(options: ChatAgentOptions): ChatAgent {
  const names = new Set<string>();
  for (const tool of options.tools) {
    if (names.has(tool.name)) throw new UserError("duplicate_tool", `two chat tools are named '${tool.name}'; tool names must be unique`);
    names.add(tool.name);
  }
  if (typeof options.model.bindTools !== "function") {
    throw new UserError("model_without_tools", `the chat model ${options.model.getName()} cannot call tools (no bindTools); use a tool-calling model`);
  }
  const bound = options.model.bindTools(options.tools);
  const systemPrompt = withToolList(options.systemPrompt ?? CHAT_SYSTEM_PROMPT, options.tools);
  return {
    tools: options.tools,
    systemPrompt,
    async respond(messages, config = {}) {
      const { omitted, ...runConfig } = config;
      const note = omitted ? `\n\n(${omitted} earlier messages of this conversation are not shown, to stay within the history budget; ask the user or call a tool again if you need what they held.)` : "";
      const reply = await bound.invoke([new SystemMessage(systemPrompt + note), ...messages], runConfig);
      // (A streamed chunk also passes `instanceof AIMessage`: tell them apart by its raw call chunks.)
      // The raw provider calls are left out of additional_kwargs: the parsed and unparsable lists hold them.
      const { tool_calls: _raw, ...additional } = reply.additional_kwargs ?? {};
      if (!(reply as AIMessageChunk).tool_call_chunks?.length) {
        return new AIMessage({ content: reply.content, tool_calls: reply.tool_calls, invalid_tool_calls: reply.invalid_tool_calls, additional_kwargs: additional, response_metadata: reply.response_metadata, usage_metadata: reply.usage_metadata, id: reply.id });
      }
      // A streamed reply arrives as an aggregated chunk. Its tool calls were parsed leniently (a cut-off
      // '{"spec": "rmsn' reads as {"spec": "rmsn"}): check each call's raw arguments strictly.
      const chunk = reply as AIMessageChunk;
      const strict = strictToolCalls(chunk);
      return new AIMessage({
        content: chunk.content,
        tool_calls: strict.valid,
        invalid_tool_calls: [...(chunk.invalid_tool_calls ?? []), ...strict.invalid],
        additional_kwargs: additional,
        response_metadata: chunk.response_metadata,
        usage_metadata: chunk.usage_metadata,
        id: chunk.id,
      });
    },
  };
}
