import type { CandidateRecord, MemoryMode } from "../../core/types.js";

/**
 * The memory mode of one operator step: restart when the search has stagnated for
 * `restartAfter` generations (for half of the steps, so the rest still exploit), combine when the
 * policy gave two parents, compare-siblings when the parent already has evaluated children, and
 * inherit the parent's trajectory otherwise.
 */
export function chooseMemoryMode(input: {
  parents: CandidateRecord[];
  siblings: CandidateRecord[];
  stagnation: number;
  restartAfter: number;
  stepIndex: number;
}): MemoryMode {
  if (input.parents.length === 0) return "restart";
  if (input.restartAfter > 0 && input.stagnation >= input.restartAfter && input.stepIndex % 2 === 0) return "restart";
  if (input.parents.length >= 2) return "combine";
  if (input.siblings.some((sibling) => sibling.status !== "pending")) return "compare-siblings";
  return "inherit";
}
