import type { EngineContext } from "../engine-context.js";
import type { EvolveStateUpdate, EvolveStateValue } from "../state.js";
import { terminationReason } from "../termination.js";

/** terminate: updates stagnation, checks every limit and records why the run ends, if it does. */
export function createTerminateNode(context: EngineContext) {
  return async (state: EvolveStateValue): Promise<EvolveStateUpdate> => {
    const generation = state.generation;
    const improved = state.bestFitness > state.bestAtGenerationStart;
    const stagnation = generation === 0 || improved ? 0 : state.stagnation + 1;
    const totals = context.db.totals();
    const activeMs = context.activeMs();
    context.db.updateRun({ activeMs });
    const { budget, target, stagnationGenerations } = context.settings;
    const reason = terminationReason(
      {
        candidates: budget.candidates,
        timeMs: budget.timeSeconds !== undefined ? budget.timeSeconds * 1000 : undefined,
        tokens: budget.tokens,
        costUsd: budget.costUsd,
        target,
        stagnationGenerations,
      },
      {
        candidates: totals.candidates,
        activeMs,
        tokens: totals.tokensInput + totals.tokensOutput,
        costUsd: totals.costUsd,
        bestFitness: state.bestFitness,
        stagnation,
        proposed: state.proposed,
        generation,
      },
    );
    context.emit("generation-end", { generation, proposed: state.proposed }, generation);
    // "exhausted" says why: what the operator's proposals were (e.g. all repeats of evaluated kernels).
    const stored = reason === "exhausted" ? `exhausted: ${state.exhaustedWhy ?? "the operator proposed no new candidate"}` : reason;
    if (stored) context.db.updateRun({ status: "completed", terminationReason: stored, finishedAt: Date.now() });
    return { stagnation, generation: reason ? generation : generation + 1, terminationReason: stored ?? null };
  };
}
