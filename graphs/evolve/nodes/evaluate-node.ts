import type { EngineContext } from "../engine-context.js";
import { fitnessOf } from "../fitness.js";
import { mapConcurrent } from "../concurrency.js";
import type { EvolveStateUpdate, EvolveStateValue } from "../state.js";
import { throwIfAborted } from "./abort.js";
import { withEvaluationIdentity } from "../../../core/evaluation-context.js";

function recordCutShort(context: EngineContext, candidateId: string, seconds: number): void {
  const message = `evaluation cut short after ${seconds.toFixed(1)} s: the run's time budget ran out`;
  context.db.recordEvaluation(
    candidateId,
    { status: "failed", stage: "compile", reason: "timeout", message, log: "", platform: context.platform.id, staticFindings: [], trials: [], timings: [], flags: ["time-budget"], durations: {} },
    0,
  );
}

/**
 * evaluate: runs every pending candidate on the platform, at most `concurrency` at once, and
 * records each result as soon as it arrives. Pending candidates of an interrupted session are
 * picked up here too; finished ones are never evaluated again.
 */
export function createEvaluateNode(context: EngineContext) {
  return async (state: EvolveStateValue): Promise<EvolveStateUpdate> => {
    throwIfAborted(context.signal);
    const generation = state.generation;
    let bestId = state.bestId;
    let bestFitness = state.bestFitness;
    const pending = context.db.pendingCandidates();
    await mapConcurrent(pending, context.concurrency, async (candidate) => {
      throwIfAborted(context.signal);
      context.emit("candidate-start", { candidateId: candidate.id, generation: candidate.generation, parentIds: candidate.parentIds, strategy: candidate.strategy }, generation);
      context.db.markStarted(candidate.id);
      const started = performance.now();
      context.evaluationClock.start();
      let result;
      try {
        // The identity lets a queue-backed platform re-attach to this candidate's job after a resume.
        result = await withEvaluationIdentity({ scope: context.db.runId, candidateId: candidate.id }, () =>
          context.platform.evaluate(context.spec, { language: candidate.language, source: candidate.source }, context.settings.evaluation, context.signal),
        );
      } catch (error) {
        // The time budget ran out mid-evaluation: the candidate is recorded as cut short (the run is
        // over, so it will never be evaluated); a person's stop leaves it pending for resume instead.
        if (context.deadline?.aborted) recordCutShort(context, candidate.id, (performance.now() - started) / 1000);
        throw error;
      } finally {
        context.evaluationClock.stop();
      }
      // A result produced while aborting (killed process, timeout) says nothing about the kernel.
      throwIfAborted(context.signal);
      const fitness = fitnessOf(result, context.platform.capabilities.timed);
      context.db.recordEvaluation(candidate.id, result, fitness);
      context.emit(
        "candidate-end",
        {
          candidateId: candidate.id,
          generation: candidate.generation,
          status: result.status,
          fitness,
          reason: result.reason,
          message: result.message,
          seconds: (performance.now() - started) / 1000,
        },
        generation,
      );
      if (fitness > bestFitness) {
        const previousFitness = bestFitness;
        bestId = candidate.id;
        bestFitness = fitness;
        context.db.updateRun({ bestCandidateId: bestId, bestFitness });
        context.emit("best-improved", { candidateId: candidate.id, generation: candidate.generation, fitness, previousFitness, strategy: candidate.strategy }, generation);
      }
    });
    return { bestId, bestFitness };
  };
}
