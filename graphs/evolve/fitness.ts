import type { EvaluationResult } from "../../core/protocol.js";

/**
 * Fitness of an evaluated candidate: its speed-up over the reference at the spec's representative sizes (geomean where there are several) when
 * correct, 0 otherwise. An untimed platform (e.g. an interpreter), or a result whose timing the
 * platform skipped (Triton on a host without a GPU), gives a correct kernel 1.
 */
export function fitnessOf(result: EvaluationResult, timed: boolean): number {
  if (result.status !== "passed") return 0;
  if (!timed || result.flags?.includes("timing-skipped")) return 1;
  return typeof result.speedup === "number" && Number.isFinite(result.speedup) && result.speedup > 0 ? result.speedup : 0;
}
