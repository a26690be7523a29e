import { Annotation } from "@langchain/langgraph";

/**
 * The graph's state: counters and ids only. The population lives in the run database, so a
 * checkpoint stays a few hundred bytes however long the run is.
 */
export const EvolveState = Annotation.Root({
  runId: Annotation<string>(),
  /** The generation being built (0: the seeds). */
  generation: Annotation<number>(),
  /** State of the seeded random generator (see random.ts), so a resumed run draws the same numbers. */
  randomState: Annotation<number>(),
  /** Parent groups chosen by the policy for this generation. */
  frontier: Annotation<string[][]>(),
  bestId: Annotation<string | null>(),
  bestFitness: Annotation<number>(),
  /** Best fitness when this generation began, to detect stagnation. */
  bestAtGenerationStart: Annotation<number>(),
  /** Generations in a row without a better best. */
  stagnation: Annotation<number>(),
  /** The selection policy's own memory (JSON). */
  policyState: Annotation<Record<string, unknown>>(),
  /** New candidates proposed by the last operate step. */
  proposed: Annotation<number>(),
  /** Why the last operate step proposed nothing new, when it did not (explains an `exhausted` end). */
  exhaustedWhy: Annotation<string | null>(),
  terminationReason: Annotation<string | null>(),
});

export type EvolveStateValue = typeof EvolveState.State;
export type EvolveStateUpdate = typeof EvolveState.Update;

/** The state a new run starts from. */
export function initialState(runId: string, seed: number): EvolveStateValue {
  return {
    runId,
    generation: 0,
    randomState: seed >>> 0,
    frontier: [],
    bestId: null,
    bestFitness: 0,
    bestAtGenerationStart: 0,
    stagnation: 0,
    policyState: {},
    proposed: 0,
    exhaustedWhy: null,
    terminationReason: null,
  };
}
