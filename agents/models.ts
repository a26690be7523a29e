import { z } from "zod";
import { ChatOpenAI } from "@langchain/openai";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import type { BaseMessage } from "@langchain/core/messages";
import { ModelError, UserError } from "../core/errors.js";

/** One model endpoint: any OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp server). */
export const ModelConfigSchema = z
  .object({
    name: z.string().min(1).describe("Model name as the endpoint knows it, e.g. gpt-4o-mini or qwen2.5-coder:32b"),
    baseUrl: z.string().url().optional().describe("Base URL of the OpenAI-compatible API, e.g. http://localhost:11434/v1"),
    apiKey: z.string().optional().describe("API key; local servers usually accept any value"),
    weight: z.number().positive().default(1).describe("Relative probability of picking this model in an ensemble"),
    temperature: z.number().min(0).max(2).default(0.7).describe("Sampling temperature"),
    maxTokens: z.number().int().positive().default(4096).describe("Most tokens in one reply"),
    timeoutMs: z.number().int().positive().default(120_000).describe("Time limit of one request"),
    inputCostPerMillion: z.number().nonnegative().default(0).describe("Price in USD per million prompt tokens"),
    outputCostPerMillion: z.number().nonnegative().default(0).describe("Price in USD per million completion tokens"),
  })
  .strict();
export type ModelConfig = z.input<typeof ModelConfigSchema>;

export const RetryPolicySchema = z
  .object({
    attempts: z.number().int().min(1).default(4).describe("Tries per request, the first included"),
    initialDelayMs: z.number().nonnegative().default(1000).describe("Delay before the first retry; doubles each time"),
    maxDelayMs: z.number().nonnegative().default(30_000).describe("Longest delay between retries"),
  })
  .strict();
export type RetryPolicy = z.input<typeof RetryPolicySchema>;

/** The outcome of one model call. */
export interface ModelReply {
  text: string;
  model: string;
  tokens: { input: number; output: number };
  costUsd: number;
  attempts: number;
}

/** A retry about to happen, for progress displays and the run's event log. */
export interface ModelRetry {
  model: string;
  attempt: number;
  delayMs: number;
  message: string;
}

/** A chat model with retries and accounting. */
export interface ModelClient {
  readonly id: string;
  complete(messages: BaseMessage[], signal?: AbortSignal, hooks?: { onRetry?: (retry: ModelRetry) => void }): Promise<ModelReply>;
}

/**
 * Runs `work` with a signal of its own that follows `signal`. Libraries that add an abort listener
 * per request and never remove it (the OpenAI SDK does) then add it to this short-lived signal, not
 * to the run's, which would otherwise collect one listener per model call
 * (MaxListenersExceededWarning) for the whole run.
 */
export async function withChildSignal<T>(signal: AbortSignal | undefined, work: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
  if (!signal) return work(undefined);
  const child = new AbortController();
  const forward = () => child.abort(signal.reason);
  if (signal.aborted) child.abort(signal.reason);
  else signal.addEventListener("abort", forward, { once: true });
  try {
    return await work(child.signal);
  } finally {
    signal.removeEventListener("abort", forward);
  }
}

/** Builds a LangChain ChatOpenAI for one endpoint; retries are ours, so the SDK's are off. */
export function createOpenAIChatModel(config: ModelConfig): BaseChatModel {
  const parsed = ModelConfigSchema.parse(config);
  return new ChatOpenAI({
    model: parsed.name,
    apiKey: parsed.apiKey ?? "not-needed",
    temperature: parsed.temperature,
    maxTokens: parsed.maxTokens,
    timeout: parsed.timeoutMs,
    maxRetries: 0,
    configuration: parsed.baseUrl ? { baseURL: parsed.baseUrl } : undefined,
  });
}

/**
 * Failures that another try of the same request will not cure, by kind: the key is refused (auth),
 * the endpoint cannot be reached (unreachable), the account is out of credit (quota).
 */
export type ModelFailureKind = "auth" | "unreachable" | "quota";

/** The text of an error and of its causes, for classification. */
function describeChain(error: unknown): string {
  const parts: string[] = [];
  let current = error as { name?: string; code?: unknown; message?: string; cause?: unknown; error?: { code?: unknown; type?: unknown } } | undefined;
  for (let depth = 0; current && depth < 5; depth++) {
    parts.push(`${current.name ?? ""} ${String(current.code ?? "")} ${current.message ?? ""} ${String(current.error?.code ?? "")} ${String(current.error?.type ?? "")}`);
    current = current.cause as typeof current;
  }
  return parts.join(" | ");
}

function statusCode(error: unknown): number | undefined {
  const candidate = error as { status?: number; cause?: { status?: number } };
  const status = candidate?.status ?? candidate?.cause?.status;
  return typeof status === "number" ? status : undefined;
}

/** The kind of a model failure that retrying does not cure, or undefined for any other failure. */
export function modelFailureKind(error: unknown): ModelFailureKind | undefined {
  const status = statusCode(error);
  const text = describeChain(error);
  if (status === 401 || status === 403) return "auth";
  if (/insufficient_quota|exceeded your current quota|billing/i.test(text)) return "quota";
  if (status === undefined && /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|Connection error/i.test(text)) return "unreachable";
  return undefined;
}

/** What each kind of failure means for the person running KernelEvolve. */
export const FAILURE_ADVICE: Record<ModelFailureKind, string> = {
  auth: "the endpoint refused the API key: set KERNELEVOLVE_API_KEY (or OPENAI_API_KEY) to a valid key",
  unreachable: "the endpoint cannot be reached: check --base-url (KERNELEVOLVE_BASE_URL) and that the server runs",
  quota: "the account is out of quota: add credit or use another key or model",
};

/** True for failures worth retrying: rate limits, server errors, timeouts and dropped connections. */
export function isRetryable(error: unknown): boolean {
  const candidate = error as { status?: number; code?: string; name?: string; message?: string; cause?: unknown; lc_error_code?: string };
  const kind = modelFailureKind(error);
  if (kind === "auth" || kind === "quota") return false;
  const status = statusCode(error);
  if (typeof status === "number") return status === 408 || status === 409 || status === 429 || status >= 500;
  const text = `${candidate?.name ?? ""} ${candidate?.code ?? ""} ${candidate?.lc_error_code ?? ""} ${candidate?.message ?? ""}`;
  return /timeout|timed out|connection error|ECONNRESET|ECONNREFUSED|EPIPE|socket hang up|rate limit|429|5\d\d|APIConnection|AbortError/i.test(text);
}

function statusOf(error: unknown): string {
  const candidate = error as { status?: number; message?: string };
  return candidate?.status ? `HTTP ${candidate.status}` : (candidate?.message ?? String(error)).split("\n")[0].slice(0, 200);
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new ModelError("aborted", "model call stopped"));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });

/** Wraps a LangChain chat model with retries, backoff and token/cost accounting. */
export function createModelClient(
  model: BaseChatModel,
  options: { id: string; retry?: RetryPolicy; inputCostPerMillion?: number; outputCostPerMillion?: number; onRetry?: (attempt: number, error: unknown, delayMs: number) => void },
): ModelClient {
  const retry = RetryPolicySchema.parse(options.retry ?? {});
  return {
    id: options.id,
    async complete(messages, signal, hooks) {
      let lastError: unknown;
      for (let attempt = 1; attempt <= retry.attempts; attempt++) {
        try {
          const message = await withChildSignal(signal, (own) => model.invoke(messages, { signal: own }));
          const usage = (message as { usage_metadata?: { input_tokens?: number; output_tokens?: number } }).usage_metadata;
          const text = typeof message.content === "string"
            ? message.content
            : message.content.map((part) => (typeof part === "string" ? part : "text" in part ? String(part.text) : "")).join("");
          // Servers that report no usage still cost tokens: estimate at 4 characters per token.
          const input = usage?.input_tokens ?? Math.ceil(messages.reduce((sum, item) => sum + String(item.content).length, 0) / 4);
          const output = usage?.output_tokens ?? Math.ceil(text.length / 4);
          const costUsd = (input * (options.inputCostPerMillion ?? 0) + output * (options.outputCostPerMillion ?? 0)) / 1e6;
          return { text, model: options.id, tokens: { input, output }, costUsd, attempts: attempt };
        } catch (error) {
          lastError = error;
          if (signal?.aborted) throw new ModelError("aborted", "model call stopped", { cause: error });
          if (!isRetryable(error) || attempt === retry.attempts) break;
          const delay = Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** (attempt - 1));
          options.onRetry?.(attempt, error, delay);
          hooks?.onRetry?.({ model: options.id, attempt, delayMs: delay, message: statusOf(error) });
          await sleep(delay, signal);
        }
      }
      const kind = modelFailureKind(lastError);
      throw new ModelError(
        kind ? `model_${kind}` : isRetryable(lastError) ? "model_unavailable" : "model_request_failed",
        `model ${options.id} failed: ${statusOf(lastError)}${kind ? ` (${FAILURE_ADVICE[kind]})` : ""}`,
        { cause: lastError },
      );
    },
  };
}

/** Several models, one picked per call with probability proportional to its weight. */
export function createModelEnsemble(members: { client: ModelClient; weight: number }[]): ModelClient & { pick(random: () => number): ModelClient } {
  if (members.length === 0) throw new UserError("no_models", "a model ensemble needs at least one model");
  const total = members.reduce((sum, member) => sum + member.weight, 0);
  const pick = (random: () => number) => {
    let threshold = random() * total;
    for (const member of members) {
      threshold -= member.weight;
      if (threshold < 0) return member.client;
    }
    return members[members.length - 1].client;
  };
  return {
    id: members.map((member) => member.client.id).join("+"),
    pick,
    complete: (messages, signal, hooks) => pick(Math.random).complete(messages, signal, hooks),
  };
}

/** Builds the ensemble for a list of endpoint configurations. */
export function createModelsFromConfig(configs: ModelConfig[], retry?: RetryPolicy) {
  return createModelEnsemble(
    configs.map((config) => {
      const parsed = ModelConfigSchema.parse(config);
      return {
        weight: parsed.weight,
        client: createModelClient(createOpenAIChatModel(parsed), {
          id: parsed.name,
          retry,
          inputCostPerMillion: parsed.inputCostPerMillion,
          outputCostPerMillion: parsed.outputCostPerMillion,
        }),
      };
    }),
  );
}
