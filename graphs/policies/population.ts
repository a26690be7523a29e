import type { CandidateRecord } from "../../core/types.js";

/** Candidates a policy may build on: evaluated, correct, with a positive fitness. */
export function selectable(population: CandidateRecord[]): CandidateRecord[] {
  return population.filter((candidate) => candidate.status === "passed" && candidate.fitness > 0);
}

/** Higher fitness first; ties go to the older candidate so choices are stable. */
export function byFitness(a: CandidateRecord, b: CandidateRecord): number {
  return b.fitness - a.fitness || a.createdAt - b.createdAt || a.id.localeCompare(b.id);
}

/** The fittest correct candidate, if any. */
export function fittest(population: CandidateRecord[]): CandidateRecord | undefined {
  return selectable(population).sort(byFitness)[0];
}

/**
 * Parents when nothing is correct yet: the newest failures, so the operator can repair them
 * (an LLM reads the error; the autotuner moves away from the failing point).
 */
export function repairParents(population: CandidateRecord[], count: number): string[][] {
  const evaluated = population.filter((candidate) => candidate.status !== "pending").sort((a, b) => b.createdAt - a.createdAt || b.id.localeCompare(a.id));
  if (evaluated.length === 0) return [];
  return Array.from({ length: count }, (_, index) => [evaluated[index % evaluated.length].id]);
}
