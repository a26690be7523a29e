import { UserError } from "../core/errors.js";
import { summarizeDiff } from "../retrieval/diff-summary.js";
import type { RunDatabase, StoredCandidate } from "../graphs/runs/run-database.js";

/**
 * Plain-text views of a run database (status, report, kernel, comparison), shared by the chat's
 * tools and slash commands so a person and the model read the same thing.
 */

const speed = (fitness: number) => `${fitness.toFixed(2)}x`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** One line per stored event, newest last, for "what happened lately". */
function eventLine(type: string, data: Record<string, unknown>): string | undefined {
  switch (type) {
    case "candidate-end":
      return `candidate ${data.candidateId} ${data.status}${data.status === "passed" ? ` ${speed(Number(data.fitness))}` : `: ${data.reason ?? data.message}`}`;
    case "best-improved":
      return `best improved to ${speed(Number(data.fitness))} by ${data.candidateId} (generation ${data.generation}${data.strategy ? `, ${data.strategy}` : ""})`;
    case "generation-start":
      return `generation ${data.generation} started`;
    case "operator-error":
      return `operator error: ${data.message}`;
    case "run-end":
      return `run ended (${data.status}): ${data.reason}`;
    default:
      return undefined;
  }
}

/** The status block of a run: ids, counts, best, time and the latest events. */
export function runStatusView(db: RunDatabase, options: { recent?: number; live?: boolean; error?: string } = {}): string {
  const run = db.run();
  const totals = db.totals();
  const budget = (run.config as { settings?: { budget?: { candidates?: number } } }).settings?.budget?.candidates;
  const recent = db
    .events()
    .map((event) => eventLine(event.type, event.data))
    .filter((line): line is string => Boolean(line))
    .slice(-(options.recent ?? 6));
  const status = options.live && run.status === "running" ? "running (in this session)" : run.status;
  return [
    `Run ${run.id}: ${status}${run.terminationReason ? ` (${run.terminationReason})` : ""}`,
    `  spec ${run.specId} on ${run.platform}, operator ${run.operator}, policy ${run.policy}`,
    `  candidates ${totals.candidates}${budget ? `/${budget}` : ""}: ${totals.passed} passed, ${totals.failed} failed, ${totals.pending} pending`,
    `  best ${run.bestCandidateId ? `${speed(run.bestFitness)} (${run.bestCandidateId})` : "none yet"}; working time ${seconds(run.activeMs)}`,
    ...(options.error ? [`  error: ${options.error}`] : []),
    ...(recent.length ? ["  recent:", ...recent.map((line) => `    - ${line}`)] : []),
  ].join("\n");
}

/** One line of a run for lists. */
export function runListLine(db: RunDatabase, live: boolean): string {
  const run = db.run();
  const totals = db.totals();
  const best = run.bestCandidateId ? `best ${speed(run.bestFitness)}` : "no passing kernel";
  return `${run.id}  ${run.specId}  ${run.platform}  ${live && run.status === "running" ? "running*" : run.status}  ${totals.candidates} candidates  ${best}`;
}

/** A candidate by id, 'best' or 'baseline' (the first seed), or an error naming what exists. */
export function findCandidate(db: RunDatabase, reference: string | undefined): StoredCandidate {
  const run = db.run();
  const all = db.candidates();
  if (!all.length) throw new UserError("no_candidate", `run ${run.id} has no candidates yet`);
  if (!reference || reference === "best") {
    const best = run.bestCandidateId ? db.candidate(run.bestCandidateId) : undefined;
    if (!best) throw new UserError("no_candidate", `run ${run.id} has no passing candidate yet`);
    return best;
  }
  if (reference === "baseline") return all.find((candidate) => candidate.generation === 0) ?? all[0];
  const found = db.candidate(reference);
  if (!found) throw new UserError("no_candidate", `run ${run.id} has no candidate '${reference}'. It has ${all[0].id} to ${all[all.length - 1].id}; or use 'best' or 'baseline'`);
  return found;
}

function verdict(candidate: StoredCandidate): string {
  const result = candidate.result;
  if (!result) return `${candidate.id}: ${candidate.status}`;
  const sizes = result.timings.map((timing) => `${timing.size} ${speed(timing.speedup)} (${timing.candidate.medianMs.toFixed(3)} ms vs ${timing.reference.medianMs.toFixed(3)} ms)`);
  return [
    `${candidate.id}: ${result.status}${result.reason ? ` (${result.reason})` : ""}, fitness ${speed(candidate.fitness)}; ${result.message}`,
    ...(sizes.length ? [`  per size: ${sizes.join("; ")}`] : []),
  ].join("\n");
}

/** A kernel's verdict, lineage and source. */
export function kernelView(db: RunDatabase, candidate: StoredCandidate): string {
  const params = candidate.params ? Object.entries(candidate.params).map(([name, value]) => `${name}=${value}`).join(" ") : "";
  return [
    `Run ${db.runId}, ${verdict(candidate)}`,
    `  generation ${candidate.generation}, operator ${candidate.operator}${candidate.strategy ? `, ${candidate.strategy}` : ""}${candidate.parentIds.length ? `, parents ${candidate.parentIds.join(", ")}` : ""}`,
    ...(params ? [`  parameters: ${params}`] : []),
    `  file: ${db.folder}/${candidate.kernelPath}`,
    "",
    "```" + candidate.language,
    candidate.source.trimEnd(),
    "```",
  ].join("\n");
}

/** Two kernels side by side: verdicts and the lines the second adds and drops. */
export function compareView(first: { db: RunDatabase; candidate: StoredCandidate }, second: { db: RunDatabase; candidate: StoredCandidate }): string {
  const diff = summarizeDiff(first.candidate.source, second.candidate.source, 12);
  const ratio = first.candidate.fitness > 0 && second.candidate.fitness > 0 ? `${(second.candidate.fitness / first.candidate.fitness).toFixed(2)}x` : "n/a";
  return [
    `First  (run ${first.db.runId}) ${verdict(first.candidate)}`,
    `Second (run ${second.db.runId}) ${verdict(second.candidate)}`,
    `Second over first: ${ratio}`,
    `Changed lines: ${diff.added} added, ${diff.removed} removed`,
    ...diff.addedLines.map((line) => `  + ${line}`),
    ...diff.removedLines.map((line) => `  - ${line}`),
  ].join("\n");
}

/** A run's report: status, totals, the best candidates and the growth of the best speed-up. */
export function reportView(db: RunDatabase): string {
  const run = db.run();
  const top = db
    .candidates()
    .filter((candidate) => candidate.status === "passed")
    .sort((a, b) => b.fitness - a.fitness)
    .slice(0, 5);
  const improvements = db.events().filter((event) => event.type === "best-improved");
  return [
    runStatusView(db, { recent: 0 }),
    "",
    "Best candidates:",
    ...(top.length
      ? top.map((candidate, index) => `  ${index + 1}. ${candidate.id} ${speed(candidate.fitness)} generation ${candidate.generation}${candidate.strategy ? ` (${candidate.strategy})` : ""}`)
      : ["  (none passed)"]),
    "",
    "Best speed-up over time:",
    ...(improvements.length
      ? improvements.map((event) => `  +${seconds(event.time - run.createdAt)}  ${speed(Number(event.data.fitness))}  ${event.data.candidateId}`)
      : ["  (no improvement recorded)"]),
  ].join("\n");
}
