import type { SelectionPolicy } from "../../core/types.js";
import { fittest, repairParents } from "./population.js";

/** Greedy best-first: every child of the next generation is built on the fittest candidate so far. */
export function createGreedyPolicy(): SelectionPolicy {
  return {
    id: "greedy",
    description: "Greedy best-first: always expand the fittest candidate",
    select(population, options) {
      const best = fittest(population);
      const parents = best ? Array.from({ length: options.count }, () => [best.id]) : repairParents(population, options.count);
      return { parents, state: options.state };
    },
  };
}
