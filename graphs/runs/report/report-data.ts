import type { RunDatabase, RunRow, StoredCandidate } from "../run-database.js";

/** Everything a report shows, read once from the run database. */
export interface ReportData {
  run: RunRow;
  candidates: StoredCandidate[];
  best?: StoredCandidate;
  /** Seeds first, then each first parent down to the best. */
  bestPath: string[];
  /** Best fitness so far after each evaluation, in evaluation order (ms since the run began). */
  timeline: { atMs: number; candidateId: string; fitness: number; best: number }[];
  failures: { reason: string; count: number }[];
  prompts: { candidateId: string; model?: string; chunkIds: string[] }[];
  baseline?: StoredCandidate;
  /** Model usage of the run (0 without a model); cost is 0 when no price was set for the model. */
  usage: { tokensInput: number; tokensOutput: number; costUsd: number };
}

/** Reads a run's report data. */
export function collectReportData(db: RunDatabase): ReportData {
  const run = db.run();
  const candidates = db.candidates();
  const byId = new Map(candidates.map((candidate) => [candidate.id, candidate]));
  const best = run.bestCandidateId ? byId.get(run.bestCandidateId) : undefined;
  const bestPath: string[] = [];
  for (let current = best; current; current = current.parentIds.length ? byId.get(current.parentIds[0]) : undefined) {
    if (bestPath.includes(current.id)) break; // a malformed lineage must not loop forever
    bestPath.unshift(current.id);
  }
  let bestSoFar = 0;
  const timeline = candidates
    .filter((candidate) => candidate.evaluatedAt !== undefined)
    .sort((a, b) => a.evaluatedAt! - b.evaluatedAt! || a.id.localeCompare(b.id))
    .map((candidate) => {
      bestSoFar = Math.max(bestSoFar, candidate.fitness);
      return { atMs: candidate.evaluatedAt! - run.createdAt, candidateId: candidate.id, fitness: candidate.fitness, best: bestSoFar };
    });
  const failureCounts = new Map<string, number>();
  for (const candidate of candidates.filter((item) => item.status === "failed")) {
    const reason = candidate.result?.reason ?? (candidate.result?.flags.includes("unevaluated") ? "no_code" : "unknown");
    failureCounts.set(reason, (failureCounts.get(reason) ?? 0) + 1);
  }
  const prompts = candidates
    .map((candidate) => ({ candidateId: candidate.id, ...db.prompt(candidate.id) }))
    .filter((prompt) => prompt.prompt !== undefined || prompt.chunkIds.length > 0)
    .map(({ candidateId, model, chunkIds }) => ({ candidateId, model, chunkIds }));
  return {
    run,
    candidates,
    best,
    bestPath,
    timeline,
    failures: [...failureCounts].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count),
    prompts,
    baseline: candidates.find((candidate) => candidate.generation === 0 && !candidate.params),
    usage: (({ tokensInput, tokensOutput, costUsd }) => ({ tokensInput, tokensOutput, costUsd }))(db.totals()),
  };
}
