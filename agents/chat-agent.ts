import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, SystemMessage, type BaseMessage } from "@langchain/core/messages";
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
  /** The model's next message (text, tool calls or both) for a conversation. */
  respond(messages: BaseMessage[], signal?: AbortSignal): Promise<AIMessage>;
}

/** Renders the tool list into the system prompt, so even a model with weak tool support sees it. */
function withToolList(prompt: string, tools: StructuredToolInterface[]): string {
  const lines = tools.map((tool) => `- ${tool.name}: ${tool.description.split("\n")[0]}`);
  return `${prompt}\n\nTools available in this session:\n${lines.join("\n")}`;
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
    async respond(messages, signal) {
      const reply = await bound.invoke([new SystemMessage(systemPrompt), ...messages], { signal });
      return reply instanceof AIMessage ? reply : new AIMessage({ content: reply.content, tool_calls: reply.tool_calls, id: reply.id });
    },
  };
}
