import { describe, expect, it } from "@jest/globals";
import type { CandidateRecord } from "../../core/types.js";
import {
  createGreedyPolicy,
  createMapElitesPolicy,
  createPolicyRegistry,
  createTournamentPolicy,
  createUcbTreePolicy,
  type MapElitesState,
} from "../../graphs/policies/index.js";
import { createRandom } from "../../graphs/evolve/random.js";
import { rootOf, simulate } from "./policy-simulation.js";

function record(id: string, fitness: number, status: CandidateRecord["status"] = fitness > 0 ? "passed" : "failed", createdAt = 0): CandidateRecord {
  return { id, runId: "r", generation: 0, parentIds: [], operator: "t", language: "cpp", source: id, status, fitness, createdAt };
}

describe("selection policies", () => {
  it("registry holds the four built-ins and explains unknown ids", () => {
    const registry = createPolicyRegistry();
    expect(registry.ids()).toEqual(["greedy", "map-elites", "tournament", "ucb"]);
    expect(() => registry.get("annealing")).toThrow(/Available: greedy, map-elites, tournament, ucb/);
    expect(() => registry.register(createGreedyPolicy())).toThrow(/duplicate/);
  });

  it("greedy picks the fittest correct candidate, and repairs the newest failures when nothing is correct", () => {
    const policy = createGreedyPolicy();
    const population = [record("a", 1.2), record("b", 3.5), record("c", 0, "failed"), record("d", 2.9), record("e", 0, "pending")];
    expect(policy.select(population, { count: 3, generation: 1, random: Math.random, state: {} }).parents).toEqual([["b"], ["b"], ["b"]]);
    const failing = [record("x", 0, "failed", 1), record("y", 0, "failed", 2)];
    expect(policy.select(failing, { count: 2, generation: 1, random: Math.random, state: {} }).parents).toEqual([["y"], ["x"]]);
  });

  it("tournament: a larger size picks fitter parents more often", () => {
    const population = Array.from({ length: 50 }, (_, index) => record(`c${index}`, index + 1));
    const meanFitness = (size: number) => {
      const policy = createTournamentPolicy({ size, crossoverRate: 0 });
      const random = createRandom(size).next;
      const { parents } = policy.select(population, { count: 4000, generation: 1, random, state: {} });
      return parents.reduce((sum, group) => sum + Number(group[0].slice(1)) + 1, 0) / parents.length;
    };
    const [one, two, five] = [meanFitness(1), meanFitness(2), meanFitness(5)];
    expect(Math.abs(one - 25.5)).toBeLessThan(1.5); // size 1 is uniform choice
    expect(two).toBeGreaterThan(one + 5);
    expect(five).toBeGreaterThan(two + 5);
    const withCrossover = createTournamentPolicy({ size: 2, crossoverRate: 1 }).select(population, { count: 50, generation: 1, random: createRandom(3).next, state: {} });
    expect(withCrossover.parents.every((group) => group.length === 2 && group[0] !== group[1])).toBe(true);
    expect(() => createTournamentPolicy({ size: 0 })).toThrow(/positive integer/);
  });

  it("ucb: visits concentrate on the branch whose children keep improving", () => {
    const { selections, population } = simulate(createUcbTreePolicy(), {
      seeds: [{ id: "A", fitness: 1 }, { id: "B", fitness: 1 }],
      generations: 40,
      count: 2,
      childFitness: (parent, random, all) => {
        const improving = rootOf(all, parent.id) === "A" ? 0.7 : 0.1;
        return parent.fitness * (random() < improving ? 1.1 : 0.9);
      },
    });
    const picks = selections.flat().map((group) => rootOf(population, group[0]));
    const shareA = picks.filter((root) => root === "A").length / picks.length;
    expect(shareA).toBeGreaterThan(0.75);
    expect(picks).toContain("B"); // exploration still visits the poor branch
    // The tree search expands deep improving nodes, not only the seeds.
    expect(selections.flat().some((group) => !["A", "B"].includes(group[0]))).toBe(true);
  });

  it("ucb: without improvement signal both branches are explored evenly", () => {
    const { selections, population } = simulate(createUcbTreePolicy(), {
      seeds: [{ id: "A", fitness: 1 }, { id: "B", fitness: 1 }],
      generations: 30,
      count: 2,
      childFitness: () => 0,
    });
    const shareA = selections.flat().filter((group) => rootOf(population, group[0]) === "A").length / 60;
    expect(shareA).toBeGreaterThan(0.35);
    expect(shareA).toBeLessThan(0.65);
  });

  it("map-elites: islands stay isolated between migrations and exchange their best elite at each migration", () => {
    const interval = 4;
    const homes = new Map<string, number>();
    const migrantsByGeneration: number[] = [];
    simulate(createMapElitesPolicy({ islands: 3, migrationInterval: interval, crossoverRate: 0, features: (candidate) => [String(candidate.id.length % 3), String(Math.round(candidate.fitness * 4) % 2)] }), {
      seeds: [{ id: "S", fitness: 1 }],
      generations: 13,
      count: 6,
      seed: 5,
      childFitness: (parent, random) => parent.fitness * (0.8 + random() * 0.5),
      afterSelect: (generation, parents, rawState, population) => {
        const state = rawState as unknown as MapElitesState;
        for (const [id, islands] of Object.entries(state.membership)) if (id !== "S" && !homes.has(id)) homes.set(id, islands[0]);
        // Each non-seed candidate's home island is one its first parent belonged to.
        for (const candidate of population) {
          if (candidate.id === "S" || !homes.has(candidate.id)) continue;
          const parentIslands = state.membership[candidate.parentIds[0]];
          expect(parentIslands).toContain(homes.get(candidate.id));
        }
        const migrants = Object.entries(state.membership).filter(([id, islands]) => id !== "S" && islands.length > 1).length;
        migrantsByGeneration.push(migrants);
        // Every group of this generation draws from an island its parent belongs to.
        for (const [parent, islands] of Object.entries(state.requests)) {
          for (const island of islands) expect(state.membership[parent]).toContain(island);
        }
        void parents;
        void generation;
      },
    });
    // No candidate lives on two islands before the first migration; each migration adds at most one per island.
    expect(migrantsByGeneration.slice(0, interval - 1)).toEqual([0, 0, 0]);
    expect(migrantsByGeneration[interval - 1]).toBeGreaterThan(0);
    expect(migrantsByGeneration[interval - 1]).toBeLessThanOrEqual(3);
    expect(migrantsByGeneration[interval]).toBe(migrantsByGeneration[interval - 1]);
    expect(new Set(homes.values())).toEqual(new Set([0, 1, 2]));
  });

  it("map-elites: an island's archive keeps the fittest candidate of each cell", () => {
    const policy = createMapElitesPolicy({ islands: 1, features: (candidate) => [candidate.id[0]] });
    const population = [record("a1", 1, "passed", 1), record("a2", 3, "passed", 2), record("b1", 2, "passed", 3), record("b2", 0, "failed", 4)];
    const { state, parents } = policy.select(population, { count: 40, generation: 1, random: createRandom(2).next, state: {} });
    expect((state as unknown as MapElitesState).archives[0]).toEqual({ a: "a2", b: "b1" });
    expect(new Set(parents.map((group) => group[0]))).toEqual(new Set(["a2", "b1"]));
  });
});
