import { z } from "zod";
import { UserError } from "../core/errors.js";
import type { RunSettingsInput } from "../graphs/evolve/options.js";

/**
 * The defaults of a run and the flat form of its options, owned here once: the CLI derives its flags
 * (names, parsing, --help) from RunOptionsSchema's descriptions, the chat's and the library's runs
 * take the same defaults through startRun.
 */

/** Candidates of a run that sets no budget, seeds included: the one default of every entry point. */
export const DEFAULT_BUDGET = 40;
/** Platform of a run that names none (unless the project config sets another). */
export const DEFAULT_PLATFORM = "cpu";
/** Selection policy of a run that names none (unless the project config sets another). */
export const DEFAULT_POLICY = "greedy";

/** Seconds from "90", "90s", "10m", "1.5h". */
export function parseDuration(text: string, flag = "time"): number {
  const match = /^(\d+(?:\.\d+)?)\s*(s|m|h)?$/.exec(text.trim());
  if (!match || Number(match[1]) <= 0) throw new UserError("bad_usage", `--${flag} expects a duration such as 90s, 10m or 1.5h, got '${text}'`);
  return Number(match[1]) * { s: 1, m: 60, h: 3600 }[(match[2] ?? "s") as "s" | "m" | "h"];
}

/** A run's choices in flat form (one field per command-line flag); every description is also the flag's help. */
export const RunOptionsSchema = z
  .object({
    platform: z.string().min(1).optional().describe(`Where kernels run (default: the project's default, else ${DEFAULT_PLATFORM})`),
    operator: z.string().min(1).optional().describe("Operator id (default: llm with a model, else autotune)"),
    policy: z.string().min(1).optional().describe(`greedy | tournament | ucb | map-elites, or a plugin's (default: ${DEFAULT_POLICY})`),
    budget: z.number().int().min(1).optional().describe(`Most candidates, seeds included (default ${DEFAULT_BUDGET})`),
    time: z.number().positive().optional().describe("Most working time, e.g. 90s, 10m, 1h"),
    tokens: z.number().int().min(1).optional().describe("Most model tokens"),
    cost: z.number().positive().optional().describe("Most model spending in USD (needs the model's prices: --price-in/--price-out or the config)"),
    target: z.number().positive().optional().describe("Stop once the best speed-up reaches X"),
    stagnation: z.number().int().min(1).optional().describe("Stop after N generations without improvement (default 8)"),
    generationSize: z.number().int().min(1).optional().describe("Candidates per generation (default: max(4, platform capacity))"),
    concurrency: z.number().int().min(1).optional().describe("Most evaluations at once (default: the platform's capacity)"),
    seed: z.number().int().optional().describe("Seed of the run's randomness (default 0)"),
    size: z.array(z.string().min(1)).optional().describe("Evaluate this size only (repeatable; default: every size)"),
    trials: z.number().int().min(1).optional().describe("Correctness trials per size (default 3)"),
    threads: z.number().int().min(1).optional().describe("Threads for kernel and reference (default: all cores)"),
    minTimeMs: z.number().positive().optional().describe("Timed for at least this long per size, in ms (default 200)"),
  })
  .strict();
export type RunOptions = z.infer<typeof RunOptionsSchema>;

/** The model of a run, in flat form (flags). */
export const ModelOptionsSchema = z
  .object({
    model: z.string().min(1).optional().describe("Use the LLM operator with this model (OpenAI-compatible endpoint)"),
    baseUrl: z.string().min(1).optional().describe("Endpoint of the model (default: KERNELEVOLVE_BASE_URL / OPENAI_BASE_URL)"),
    priceIn: z.number().nonnegative().optional().describe("Price of the model per million prompt tokens, in USD (default: kernelevolve.config.json \"models\")"),
    priceOut: z.number().nonnegative().optional().describe("Price of the model per million completion tokens, in USD"),
  })
  .strict();

/** A run's settings before the defaults: every field of the engine's settings, the budget's candidates optional. */
export type RunSettingsRequest = Omit<RunSettingsInput, "budget"> & { budget?: Partial<RunSettingsInput["budget"]> };

/** The engine settings of flat run options (the request's defaults are filled by startRun). */
export function runSettingsFromOptions(options: RunOptions): RunSettingsRequest {
  const defined = <T extends object>(value: T) => Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as T;
  return defined({
    budget: defined({ candidates: options.budget, timeSeconds: options.time, tokens: options.tokens, costUsd: options.cost }),
    target: options.target,
    stagnationGenerations: options.stagnation,
    generationSize: options.generationSize,
    concurrency: options.concurrency,
    seed: options.seed,
    evaluation: defined({ sizes: options.size?.length ? options.size : undefined, trials: options.trials, threads: options.threads, minTimeMs: options.minTimeMs }),
  });
}

/** Fills the budget default: every run, from every entry point, gets DEFAULT_BUDGET candidates unless it sets its own. */
export function withDefaultBudget(settings: RunSettingsRequest): RunSettingsInput {
  const candidates = settings.budget?.candidates ?? DEFAULT_BUDGET;
  if (!Number.isInteger(candidates) || candidates < 1) throw new UserError("bad_budget", `the budget must be a whole number of candidates, 1 or more; got ${candidates}`);
  return { ...settings, budget: { ...settings.budget, candidates } };
}
