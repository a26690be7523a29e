import { SystemError } from "../../../core/errors.js";
import type { EngineContext } from "../engine-context.js";
import { createRandom } from "../random.js";
import type { EvolveStateUpdate, EvolveStateValue } from "../state.js";
import { throwIfAborted } from "./abort.js";

/** select: asks the policy for this generation's parent groups (none for generation 0, the seeds). */
export function createSelectNode(context: EngineContext) {
  return async (state: EvolveStateValue): Promise<EvolveStateUpdate> => {
    throwIfAborted(context.signal);
    const generation = state.generation;
    if (generation === 0) {
      context.emit("generation-start", { generation, parentGroups: 0 }, generation);
      return { frontier: [], bestAtGenerationStart: state.bestFitness };
    }
    const population = context.db.candidates();
    const remaining = context.settings.budget.candidates - population.length;
    const count = Math.max(1, Math.min(context.generationSize, remaining));
    const random = createRandom(state.randomState);
    const selection = context.policy.select(population, { count, generation, random: random.next, state: state.policyState ?? {} });
    const known = new Set(population.map((candidate) => candidate.id));
    for (const group of selection.parents) {
      const unknown = group.filter((id) => !known.has(id));
      if (unknown.length) throw new SystemError("policy_unknown_candidate", `policy '${context.policy.id}' selected unknown candidate(s) ${unknown.join(", ")}`);
    }
    context.emit("generation-start", { generation, parentGroups: selection.parents.length }, generation);
    return {
      frontier: selection.parents,
      policyState: selection.state,
      randomState: random.state(),
      bestAtGenerationStart: state.bestFitness,
    };
  };
}
