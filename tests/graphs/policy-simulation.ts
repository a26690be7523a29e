import type { CandidateRecord, SelectionPolicy } from "../../core/types.js";
import { createRandom } from "../../graphs/evolve/random.js";

/** Runs a policy against a synthetic fitness landscape, without operator or platform. */
export function simulate(
  policy: SelectionPolicy,
  options: {
    seeds: { id: string; fitness: number; strategy?: string }[];
    generations: number;
    count: number;
    childFitness: (parent: CandidateRecord, random: () => number, population: CandidateRecord[]) => number;
    seed?: number;
    afterSelect?: (generation: number, parents: string[][], state: Record<string, unknown>, population: CandidateRecord[]) => void;
  },
): { population: CandidateRecord[]; selections: string[][][] } {
  const random = createRandom(options.seed ?? 1).next;
  let clock = 0;
  const population: CandidateRecord[] = options.seeds.map((seed) => ({
    id: seed.id, runId: "sim", generation: 0, parentIds: [], operator: "seed", language: "cpp", source: `// ${seed.id}`,
    status: "passed", fitness: seed.fitness, createdAt: clock++, strategy: seed.strategy,
  }));
  let state: Record<string, unknown> = {};
  const selections: string[][][] = [];
  for (let generation = 1; generation <= options.generations; generation++) {
    const result = policy.select(population, { count: options.count, generation, random, state });
    state = result.state;
    selections.push(result.parents);
    options.afterSelect?.(generation, result.parents, state, population);
    result.parents.forEach((group, index) => {
      const parent = population.find((candidate) => candidate.id === group[0])!;
      const fitness = options.childFitness(parent, random, population);
      population.push({
        id: `g${generation}-${index}`, runId: "sim", generation, parentIds: group, operator: "sim", language: "cpp",
        source: `// child of ${group.join("+")}`, strategy: parent.strategy,
        status: fitness > 0 ? "passed" : "failed", fitness, createdAt: clock++,
      });
    });
  }
  return { population, selections };
}

/** Walks first parents back to a seed. */
export function rootOf(population: CandidateRecord[], id: string): string {
  let current = population.find((candidate) => candidate.id === id)!;
  while (current.parentIds.length) current = population.find((candidate) => candidate.id === current.parentIds[0])!;
  return current.id;
}
