import { z } from "zod";
import { pipelineTool, type PipelineResult, type PipelineTool } from "./pipeline-tools.js";

/**
 * The swap-back tool of a pipeline (`aovift_swap`, `exfm_swap`): registers optimised kernels as torch custom
 * operators in the pipeline's training and inference steps (python/pipelines/kernels/swap.py), checks the steps'
 * outputs against the torch ops and reports each step's time before and after. Kernels come from the committed
 * optimised ones (python/pipelines/kernels/optimised/), from files, or from optimisation runs (their best kernel).
 */

const kernelFile = z
  .string()
  .min(1)
  .refine((path) => !path.startsWith("/") && !path.split(/[\\/]/).includes(".."), "a kernel file relative to the work directory")
  .describe("Kernel file relative to the work directory: .cpp/.so (cpu platform ABI) or .py (Triton launcher)");

/** Arguments of a pipeline's swap tool (camelCase; the pipeline reads snake_case). */
export function swapSchema(operators: readonly [string, ...string[]]) {
  const operator = z.enum(operators).describe(`Swappable operator: ${operators.join(", ")}`);
  return z
    .object({
      runs: z.record(operator, z.string().min(1)).optional().describe("Operator -> optimisation run id whose best kernel to swap in (the run must have optimised that operator's spec)"),
      kernels: z.record(operator, kernelFile).optional().describe("Operator -> kernel file to swap in"),
      language: z.enum(["cpu", "triton", "none"]).default("cpu").describe("Start from the committed optimised kernels of this language ('none': only those given)"),
      seeds: z.boolean().default(false).describe("Start from the seed baselines instead of the optimised kernels"),
      rounds: z.number().int().min(1).max(50).default(5).describe("Timed rounds per step kind, torch and swapped alternating"),
      options: z.record(z.union([z.string(), z.number()])).default({}).describe("Step options: aovift {preset, batch}; exfm {target: 'fm'|'vm', batch, examples}"),
      device: z.enum(["cpu", "cuda"]).default("cpu").describe("Where the steps run (cuda needs Triton kernels)"),
    })
    .strict();
}

interface StepFigures {
  torch_ms: number;
  swapped_ms: number;
  speedup: number;
  check: { outputs_match: boolean; max_abs_difference: number };
  swapped_ops_in_step: string[];
}

/** One line per step: time before -> after, speed-up, outputs check. */
export function swapSummary(result: PipelineResult): string {
  const results = result.results as Record<string, StepFigures>;
  const steps = Object.entries(results).map(
    ([kind, item]) =>
      `${kind} ${item.torch_ms.toFixed(1)} ms -> ${item.swapped_ms.toFixed(1)} ms (${item.speedup.toFixed(2)}x; outputs ${item.check.outputs_match ? "match" : "DIFFER"}, max |diff| ${item.check.max_abs_difference.toExponential(1)}; swapped there: ${item.swapped_ops_in_step.join(", ") || "none"})`,
  );
  return `Swapped ${Object.keys(result.kernels as object).join(", ")} into ${result.pipeline}: ${steps.join("; ")}.`;
}

/** The swap row of a pipeline's tool table. */
export function swapTool(pipeline: "aovift" | "exfm", operators: readonly [string, ...string[]]): PipelineTool {
  return pipelineTool({
    name: `${pipeline}_swap`,
    command: "swap",
    description:
      `Swap optimised kernels back into the ${pipeline} pipeline: each kernel is checked against the operator's torch code (a wrong one is refused), registered as a torch custom operator (fake and autograd implementations) and called from the training and inference steps; returns whether the steps' outputs match the torch ops within tolerance and each step's time before and after. ` +
      `Use after ${pipeline}_profile and an optimisation run of a swappable operator's spec; operators: ${operators.join(", ")}.`,
    schema: swapSchema(operators),
    timeoutMs: 30 * 60 * 1000,
    summary: swapSummary,
  });
}

interface HotOperator {
  operator: string;
  share: number;
  mapping: string;
  spec_id?: string;
  swap_op?: string;
}

/** The profile's measured ranking as one sentence: operator, share, and the spec (and swappable operator) it maps to. */
export function measuredText(result: PipelineResult): string {
  const hot = (result.hot_operators as HotOperator[] | undefined) ?? [];
  if (!hot.length) return "no operator was measured above the share threshold.";
  const items = hot.map((item) => `${item.operator} ${(item.share * 100).toFixed(0)}% -> ${item.spec_id ?? "no spec"}${item.swap_op ? ` (swappable ${item.swap_op})` : ""}`);
  return `operators measured hottest over a training and an inference step: ${items.join(", ")}. Optimise a spec with kernelevolve optimize <spec> --specs-dir <the profile's folder>, then swap its run back in with the pipeline's swap tool.`;
}
