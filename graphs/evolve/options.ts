import { z } from "zod";
import { EvaluationOptionsSchema } from "../../core/protocol.js";

/** The serialisable settings of a run (stored in the run database so `resume` can rebuild it). */
export const RunSettingsSchema = z
  .object({
    budget: z
      .object({
        // No default here: the application layer (app/run-request.ts) owns the one default budget.
        candidates: z.number().int().min(1).describe("Most candidates in the run, seeds included"),
        timeSeconds: z.number().positive().optional().describe("Most working seconds (summed over resumed sessions)"),
        tokens: z.number().int().positive().optional().describe("Most model tokens (input + output)"),
        costUsd: z.number().positive().optional().describe("Most model spending in US dollars"),
      })
      .strict()
      .describe("Limits; the first one reached ends the run"),
    target: z.number().positive().optional().describe("Stop once the best speed-up reaches this"),
    stagnationGenerations: z.number().int().min(1).default(8).describe("Stop after this many generations without a better best"),
    restartAfterGenerations: z.number().int().min(1).default(3).describe("Generations without improvement before operator steps restart"),
    generationSize: z.number().int().min(1).optional().describe("Candidates per generation; default: max(4, platform capacity)"),
    concurrency: z.number().int().min(1).optional().describe("Most evaluations at once; default and ceiling: the platform's capacity"),
    operatorConcurrency: z.number().int().min(1).default(4).describe("Most operator steps (model calls) at once"),
    seed: z.number().int().default(0).describe("Seed of the run's randomness (policy and operator)"),
    evaluation: EvaluationOptionsSchema.partial().default({}).describe("Options passed to every evaluation (sizes, trials, threads, ...)"),
    eliteCount: z.number().int().min(1).default(5).describe("Best candidates shown to the operator as elites"),
  })
  .strict();

export type RunSettings = z.infer<typeof RunSettingsSchema>;
export type RunSettingsInput = z.input<typeof RunSettingsSchema>;
