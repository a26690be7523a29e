/** Limits of a run; any that is set and reached ends it. */
export interface TerminationRules {
  candidates?: number;
  timeMs?: number;
  tokens?: number;
  costUsd?: number;
  /** Stop when the best fitness (speed-up) reaches this. */
  target?: number;
  /** Stop after this many generations without a better best. */
  stagnationGenerations?: number;
}

/** Where the run stands when a generation ends. */
export interface TerminationInput {
  candidates: number;
  activeMs: number;
  tokens: number;
  costUsd: number;
  bestFitness: number;
  stagnation: number;
  /** New candidates the last operate step produced (0: the search space around the frontier is exhausted). */
  proposed: number;
  generation: number;
}

/**
 * The reason the run must stop now, or undefined to go on. Reasons are stable words stored in the
 * run database: target, budget, time, tokens, cost, stagnation, exhausted. (A stopped run ends through
 * the abort signal instead, not here.)
 */
export function terminationReason(rules: TerminationRules, input: TerminationInput): string | undefined {
  if (rules.target !== undefined && input.bestFitness >= rules.target) return "target";
  if (rules.candidates !== undefined && input.candidates >= rules.candidates) return "budget";
  if (rules.timeMs !== undefined && input.activeMs >= rules.timeMs) return "time";
  if (rules.tokens !== undefined && input.tokens >= rules.tokens) return "tokens";
  if (rules.costUsd !== undefined && input.costUsd >= rules.costUsd) return "cost";
  if (rules.stagnationGenerations !== undefined && input.stagnation >= rules.stagnationGenerations) return "stagnation";
  // Generation 0 may propose nothing new (no seeds) and still be followed by operator steps.
  if (input.generation > 0 && input.proposed === 0) return "exhausted";
  return undefined;
}
