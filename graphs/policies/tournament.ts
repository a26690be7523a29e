import type { CandidateRecord, SelectionPolicy } from "../../core/types.js";
import { UserError } from "../../core/errors.js";
import { byFitness, repairParents, selectable } from "./population.js";

export interface TournamentOptions {
  /** Contestants per tournament: 1 is uniform random choice, larger is greedier. */
  size?: number;
  /** Chance that a group gets two winners, for the operator to combine. */
  crossoverRate?: number;
}

/** Tournament selection: each parent is the fittest of `size` candidates drawn at random (with replacement). */
export function createTournamentPolicy(options: TournamentOptions = {}): SelectionPolicy {
  const size = options.size ?? 3;
  const crossoverRate = options.crossoverRate ?? 0.2;
  if (!Number.isInteger(size) || size < 1) throw new UserError("invalid_policy_option", `tournament size must be a positive integer, got ${size}`);
  if (!(crossoverRate >= 0 && crossoverRate <= 1)) throw new UserError("invalid_policy_option", `crossover rate must lie in [0, 1], got ${crossoverRate}`);
  const tournament = (pool: CandidateRecord[], random: () => number) => {
    const contestants = Array.from({ length: size }, () => pool[Math.min(pool.length - 1, Math.floor(random() * pool.length))]);
    return contestants.sort(byFitness)[0];
  };
  return {
    id: "tournament",
    description: `Tournament selection (size ${size}); some groups get two winners to combine`,
    select(population, selectOptions) {
      const pool = selectable(population);
      if (pool.length === 0) return { parents: repairParents(population, selectOptions.count), state: selectOptions.state };
      const parents = Array.from({ length: selectOptions.count }, () => {
        const first = tournament(pool, selectOptions.random);
        if (pool.length > 1 && selectOptions.random() < crossoverRate) {
          const second = tournament(pool.filter((candidate) => candidate.id !== first.id), selectOptions.random);
          return [first.id, second.id];
        }
        return [first.id];
      });
      return { parents, state: selectOptions.state };
    },
  };
}
