import { tool } from "@langchain/core/tools";
import type { StructuredToolInterface } from "@langchain/core/tools";
import { z } from "zod";
import { KernelEvolveError } from "../core/errors.js";

/**
 * The product's actions as LangChain tools for the chat model. The tools only validate arguments
 * and turn failures into instructive text; the actions themselves come from the application layer
 * (app/kernel-actions.ts), so the chat's slash commands and the model share one implementation.
 */

/** What a new optimisation run may set. */
export const StartOptimizationInputSchema = z.object({
  spec: z.string().min(1).describe("Spec id (see list_specs), e.g. 'rmsnorm'"),
  platform: z.string().optional().describe("Platform id, e.g. 'cpu' (default: the project default, else cpu)"),
  operator: z.string().optional().describe("Operator id: 'autotune' (offline, tunes template parameters) or 'llm' (needs a model); default autotune without a model"),
  policy: z.string().optional().describe("Selection policy id, e.g. greedy, tournament, ucb, map-elites"),
  budget: z.number().int().min(1).max(10_000).optional().describe("Most candidates in the run, seeds included (default: the application's default budget)"),
  sizes: z.array(z.string()).optional().describe("Evaluate only these spec sizes (default: every size)"),
  target: z.number().positive().optional().describe("Stop once the best speed-up reaches this"),
});
export type StartOptimizationInput = z.infer<typeof StartOptimizationInputSchema>;

/** The actions the kernel tools call; every method returns text for a person or a model. */
export interface KernelActions {
  listSpecs(): Promise<string>;
  explainSpec(specId: string): Promise<string>;
  /** Starts a run in the background and returns at once. */
  startOptimization(request: StartOptimizationInput): Promise<{ runId: string; message: string }>;
  /** Progress so far; waits up to `waitSeconds` for the run to finish first. */
  watchRun(runId: string, waitSeconds?: number): Promise<string>;
  stopRun(runId: string): Promise<string>;
  listRuns(limit?: number): Promise<string>;
  /** The best kernel of a run, or one candidate. */
  showKernel(runId: string, candidateId?: string): Promise<string>;
  compareKernels(request: { runId: string; first?: string; second?: string; otherRunId?: string }): Promise<string>;
  showReport(runId: string): Promise<string>;
}

/** Runs an action; a user-caused failure becomes text the model can act on instead of an exception. */
async function answer(action: () => Promise<string>): Promise<string> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof KernelEvolveError && error.fault !== "system") return `Error (${error.code}): ${error.message}`;
    throw error;
  }
}

const runId = z.string().min(1).describe("Run id from start_optimization or list_runs ('latest' for the newest run)");

/** Names of the product tools, for checking plugin tools against them. */
export const KERNEL_TOOL_NAMES = ["list_specs", "explain_spec", "start_optimization", "watch_run", "stop_run", "list_runs", "show_kernel", "compare_kernels", "show_report"] as const;

/**
 * Builds the product tools (list_specs, explain_spec, start_optimization, watch_run, stop_run,
 * list_runs, show_kernel, compare_kernels, show_report) over a set of actions.
 */
export function createKernelTools(actions: KernelActions, options: { policyIds?: string[]; defaultBudget?: number } = {}): StructuredToolInterface[] {
  // The policy ids the registry actually has (built-ins and plugins'), so the model is never offered one that is rejected.
  const policyIds = options.policyIds ?? [];
  const withPolicies = policyIds.length
    ? StartOptimizationInputSchema.extend({
        policy: z.enum(policyIds as [string, ...string[]]).optional().describe(`Selection policy id: ${policyIds.join(", ")}`),
      })
    : StartOptimizationInputSchema;
  // The default budget comes from the application layer, so the model reads the number runs really get.
  const startSchema =
    options.defaultBudget !== undefined
      ? withPolicies.extend({ budget: StartOptimizationInputSchema.shape.budget.describe(`Most candidates in the run, seeds included (default ${options.defaultBudget})`) })
      : withPolicies;
  return [
    tool(() => answer(() => actions.listSpecs()), {
      name: "list_specs",
      description: "List the kernel specifications that can be optimised, with their sizes and target platforms.",
      schema: z.object({}).describe("No arguments"),
    }),
    tool(({ spec }) => answer(() => actions.explainSpec(spec)), {
      name: "explain_spec",
      description: "Explain one kernel specification: inputs, outputs, sizes, tolerances, constraints, seed kernels and the reference code.",
      schema: z.object({ spec: z.string().min(1).describe("Spec id, e.g. 'layernorm'") }),
    }),
    tool(
      (input) =>
        answer(async () => {
          const started = await actions.startOptimization(input);
          return started.message;
        }),
      {
        name: "start_optimization",
        description:
          "Start an optimisation run of a spec in the background. Returns the run id at once; follow it with watch_run and read the result with show_kernel or show_report.",
        schema: startSchema,
      },
    ),
    tool(({ run_id, wait_seconds }) => answer(() => actions.watchRun(run_id, wait_seconds)), {
      name: "watch_run",
      description: "Show a run's progress so far (candidates, passed/failed, best speed-up, recent events). With wait_seconds, first wait up to that long for the run to finish.",
      schema: z.object({
        run_id: runId,
        wait_seconds: z.number().min(0).max(600).optional().describe("Wait up to this many seconds for the run to end before answering (default 0)"),
      }),
    }),
    tool(({ run_id }) => answer(() => actions.stopRun(run_id)), {
      name: "stop_run",
      description: "Stop a running optimisation; what it found so far is kept and it can be resumed later.",
      schema: z.object({ run_id: runId }),
    }),
    tool(({ limit }) => answer(() => actions.listRuns(limit)), {
      name: "list_runs",
      description: "List recent optimisation runs with their status and best speed-up.",
      schema: z.object({ limit: z.number().int().min(1).max(100).optional().describe("How many runs, newest first (default 10)") }),
    }),
    tool(({ run_id, candidate_id }) => answer(() => actions.showKernel(run_id, candidate_id)), {
      name: "show_kernel",
      description: "Show the source and verdict of a run's best kernel, or of one candidate.",
      schema: z.object({
        run_id: runId,
        candidate_id: z.string().optional().describe("Candidate id; default: the run's best candidate ('baseline' for the first seed)"),
      }),
    }),
    tool(({ run_id, first, second, other_run_id }) => answer(() => actions.compareKernels({ runId: run_id, first, second, otherRunId: other_run_id })), {
      name: "compare_kernels",
      description: "Compare two kernels (speed-up per size and the changed lines): by default the run's baseline against its best.",
      schema: z.object({
        run_id: runId,
        first: z.string().optional().describe("First candidate id (default 'baseline')"),
        second: z.string().optional().describe("Second candidate id (default 'best')"),
        other_run_id: z.string().optional().describe("Take the second candidate from this run instead"),
      }),
    }),
    tool(({ run_id }) => answer(() => actions.showReport(run_id)), {
      name: "show_report",
      description: "Summarise a run: status, why it stopped, totals, the best candidates and how the best speed-up grew.",
      schema: z.object({ run_id: runId }),
    }),
  ];
}
