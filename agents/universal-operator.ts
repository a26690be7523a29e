import { HumanMessage, SystemMessage } from "@langchain/core/messages";
import type { Operator, OperatorContext, Proposal } from "../core/types.js";
import { ModelError } from "../core/errors.js";
import { extractCode } from "./code-extraction.js";
import { buildPrompt, type PromptBudget, type PromptTemplates } from "./prompt-builder.js";
import { FAILURE_ADVICE, modelFailureKind, type ModelClient, type ModelFailureKind } from "./models.js";

/** Options of the LLM universal operator. */
export interface UniversalOperatorOptions {
  /** One model or a weighted ensemble (agents/models.ts). */
  model: ModelClient & { pick?(random: () => number): ModelClient };
  templates: PromptTemplates;
  budget?: Partial<PromptBudget>;
  /** Model calls of one generation made at once. */
  concurrency?: number;
  /**
   * Consecutive failed model calls of one kind (auth, unreachable, quota) after which the operator
   * gives up with a ModelError that ends the run, instead of recording failed candidates forever.
   */
  giveUpAfter?: number;
}

/** Error codes of the ModelErrors that end a run (the model cannot be used as configured). */
export const FATAL_MODEL_CODES = ["model_auth", "model_unreachable", "model_quota"] as const;

/**
 * The universal operator: one LLM role whose prompt is synthesised per step from the spec, the
 * hardware, the parent and its feedback, a memory mode and retrieved knowledge. A reply without
 * usable code becomes a failed proposal with the reason, never an exception.
 */
export function createUniversalOperator(options: UniversalOperatorOptions): Operator {
  const budget: PromptBudget = { totalTokens: 12_000, retrievedTokens: 2_000, ...options.budget };
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const giveUpAfter = Math.max(1, options.giveUpAfter ?? 3);
  // Failures of one kind in a row, over the whole run (reset by any reply).
  let streak: { kind: ModelFailureKind; count: number; last: string } | undefined;
  let gaveUp: ModelError | undefined;

  async function proposeOne(context: OperatorContext, index: number): Promise<Proposal> {
    // Each child of a generation gets its own parent group when the policy chose several.
    const parents = context.parents.length > 1 && context.memoryMode !== "combine" ? [context.parents[index % context.parents.length]] : context.parents;
    const stepContext: OperatorContext = { ...context, parents };
    if (gaveUp) throw gaveUp;
    const built = await buildPrompt(stepContext, options.templates, budget);
    const prompt = context.note ? { ...built, user: `${built.user}\n\n${context.note}` } : built;
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
      reply = await client.complete([new SystemMessage(prompt.system), new HumanMessage(prompt.user)], context.signal, { onRetry: context.onRetry });
    } catch (error) {
      if (error instanceof ModelError && error.code === "aborted") throw error;
      if (context.signal?.aborted) throw error;
      const kind = modelFailureKind((error as Error).cause ?? error) ?? (error instanceof ModelError && error.code.startsWith("model_") ? (error.code.slice(6) as ModelFailureKind) : undefined);
      if (kind && kind in FAILURE_ADVICE) {
        streak = streak?.kind === kind ? { kind, count: streak.count + 1, last: (error as Error).message } : { kind, count: 1, last: (error as Error).message };
        if (streak.count >= giveUpAfter) {
          gaveUp ??= new ModelError(`model_${kind}`, `model ${kind}: ${streak.count} model calls in a row failed the same way; ${FAILURE_ADVICE[kind]} (last: ${streak.last})`, { cause: error });
          throw gaveUp;
        }
      } else streak = undefined;
      return { ...base, source: "", failure: `model call failed: ${(error as Error).message}` };
    }
    streak = undefined;
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
