import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import type { Operator, OperatorContext, Proposal } from "../core/types.js";
import { ModelError } from "../core/errors.js";
import { extractCode } from "./code-extraction.js";
import { buildPrompt, type PromptBudget, type PromptTemplates } from "./prompt-builder.js";
import type { ModelClient } from "./models.js";

/** Options of the LLM universal operator. */
export interface UniversalOperatorOptions {
  /** One model or a weighted ensemble (agents/models.ts). */
  model: ModelClient & { pick?(random: () => number): ModelClient };
  templates: PromptTemplates;
  budget?: Partial<PromptBudget>;
  /** Model calls of one generation made at once. */
  concurrency?: number;
}

/**
 * The universal operator: one LLM role whose prompt is synthesised per step from the spec, the
 * hardware, the parent and its feedback, a memory mode and retrieved knowledge. A reply without
 * usable code becomes a failed proposal with the reason, never an exception.
 */
export function createUniversalOperator(options: UniversalOperatorOptions): Operator {
  const budget: PromptBudget = { totalTokens: 12_000, retrievedTokens: 2_000, ...options.budget };
  const concurrency = Math.max(1, options.concurrency ?? 4);

  async function proposeOne(context: OperatorContext, index: number): Promise<Proposal> {
    // Each child of a generation gets its own parent group when the policy chose several.
    const parents = context.parents.length > 1 && context.memoryMode !== "combine" ? [context.parents[index % context.parents.length]] : context.parents;
    const stepContext: OperatorContext = { ...context, parents };
    const prompt = await buildPrompt(stepContext, options.templates, budget);
    const client = options.model.pick ? options.model.pick(context.random) : options.model;
    const parentIds = parents.map((parent) => parent.id);
    const base = {
      language: context.platform.language,
      parentIds,
      prompt: `${prompt.system}\n\n${prompt.user}`,
      retrievedChunkIds: prompt.retrievedChunkIds,
      model: client.id,
      strategy: `llm:${prompt.memoryMode}`,
    };
    let reply;
    try {
      reply = await client.complete([new SystemMessage(prompt.system), new HumanMessage(prompt.user)], context.signal);
    } catch (error) {
      if (error instanceof ModelError && error.code === "aborted") throw error;
      return { ...base, source: "", failure: `model call failed: ${(error as Error).message}` };
    }
    const common = { ...base, reply: reply.text, tokens: reply.tokens, costUsd: reply.costUsd, model: reply.model };
    const extraction = extractCode(reply.text, context.platform.language, parents[0]?.source);
    if (!extraction.ok) return { ...common, source: "", failure: `no usable code in the reply: ${extraction.reason}` };
    const plan = reply.text.split("```")[0].trim().split("\n").find((line) => line.trim())?.trim().slice(0, 120);
    return { ...common, source: extraction.source, strategy: plan ? `llm:${prompt.memoryMode}: ${plan}` : base.strategy };
  }

  return {
    id: "llm",
    description: "Universal operator: an LLM writes each candidate from a prompt synthesised for the step",
    async propose(context) {
      const proposals: Proposal[] = new Array(context.count);
      let next = 0;
      const workers = Array.from({ length: Math.min(concurrency, context.count) }, async () => {
        while (next < context.count) {
          const index = next++;
          proposals[index] = await proposeOne(context, index);
        }
      });
      await Promise.all(workers);
      return proposals;
    },
  };
}
