import type { Operator, SelectionPolicy } from "../../core/types.js";
import { createAutotuneOperator } from "../../agents/autotune-operator.js";
import { seedTemplates, type SeedKernel } from "../../graphs/evolve/seeds.js";
import { createPolicyRegistry } from "../../graphs/policies/registry.js";

/**
 * The operator and policy a test hands the engine directly. The engine has no defaults (app/ resolves
 * them); tests of the engine name theirs here: the autotune operator over the seeds' templates and a
 * built-in policy (greedy unless named).
 */

/** The autotune operator over the seeds' templates (the seeds must hold one). */
export function autotuneOver(seeds: SeedKernel[]): Operator {
  const templates = seedTemplates(seeds);
  if (templates.length === 0) throw new Error(`autotuneOver: none of the seeds ${seeds.map((seed) => seed.name).join(", ")} is a template`);
  return createAutotuneOperator({ templates });
}

/** A built-in policy by id (greedy, tournament, ucb, map-elites). */
export function builtinPolicy(id = "greedy"): SelectionPolicy {
  return createPolicyRegistry().get(id);
}

/** The pair most engine tests use: autotune over the seeds' templates and a built-in policy. */
export function engineParts(seeds: SeedKernel[], policy = "greedy"): { operator: Operator; policy: SelectionPolicy } {
  return { operator: autotuneOver(seeds), policy: builtinPolicy(policy) };
}
