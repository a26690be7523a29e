import type { OptimizeEvent, RunProgress } from "../graphs/evolve/events.js";

/**
 * Live progress of an optimisation run: one updating status line on a terminal, plain lines
 * otherwise (logs, CI), or one JSON event per line for machines.
 */
export type ProgressMode = "tty" | "plain" | "json";

/** "4m05s", "12s", "1h02m". */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}

/** Evaluations per minute of this session and the time left before the first limit. */
export function rateAndEta(progress: RunProgress, session: { startedAt: number; evaluatedAtStart: number; now: number }): { perMinute?: number; etaMs?: number } {
  const minutes = (session.now - session.startedAt) / 60_000;
  const done = progress.evaluated - session.evaluatedAtStart;
  const perMinute = minutes > 0 && done > 0 ? done / minutes : undefined;
  const estimates: number[] = [];
  if (progress.budget.candidates !== undefined && perMinute) {
    estimates.push((Math.max(0, progress.budget.candidates - progress.evaluated) / perMinute) * 60_000);
  }
  if (progress.budget.timeMs !== undefined) estimates.push(Math.max(0, progress.budget.timeMs - progress.activeMs));
  return { perMinute, etaMs: estimates.length ? Math.min(...estimates) : undefined };
}

/** The status line: generation, counts, best speed-up, rate, tokens, ETA. */
export function formatStatusLine(progress: RunProgress, rate: { perMinute?: number; etaMs?: number }): string {
  const budget = progress.budget.candidates !== undefined ? `/${progress.budget.candidates}` : "";
  const parts = [
    `gen ${progress.generation}`,
    `${progress.evaluated}${budget} evaluated (${progress.failed} failed${progress.pending ? `, ${progress.pending} running` : ""})`,
    `best ${progress.bestFitness > 0 ? `${progress.bestFitness.toFixed(2)}x` : "-"}`,
    `${rate.perMinute !== undefined ? rate.perMinute.toFixed(1) : "-"} eval/min`,
  ];
  if (progress.tokens > 0) parts.push(`${progress.tokens} tokens${progress.costUsd > 0 ? ` $${progress.costUsd.toFixed(3)}` : ""}`);
  parts.push(`ETA ${rate.etaMs !== undefined ? formatDuration(rate.etaMs) : "-"}`);
  return parts.join(" | ");
}

/** A line worth keeping in the scrollback for an event, or undefined for events only the status line shows. */
export function formatEventLine(event: OptimizeEvent): string | undefined {
  switch (event.type) {
    case "run-start":
      return `${event.resumed ? "resuming" : "run"} ${event.runId}: ${event.specId} on ${event.platform}, operator ${event.operator}, policy ${event.policy}\n  folder ${event.folder}`;
    case "best-improved":
      return `best ${event.fitness.toFixed(2)}x  ${event.candidateId} (generation ${event.generation})${event.strategy ? `  ${event.strategy}` : ""}`;
    case "model-retry":
      return `model ${event.model}: ${event.message}; retry ${event.attempt} in ${(event.delayMs / 1000).toFixed(1)} s`;
    case "operator-error":
      return `operator error in generation ${event.generation}: ${event.message}`;
    case "run-end":
      return `run ${event.status}: ${event.reason}; best ${event.bestFitness > 0 ? `${event.bestFitness.toFixed(2)}x (${event.bestCandidateId})` : "none"}; ${event.progress.evaluated} evaluated, ${event.progress.failed} failed in ${formatDuration(event.progress.activeMs)}`;
    default:
      return undefined;
  }
}

/** Renders a run's events to a stream in one of the three modes. */
export class ProgressRenderer {
  private session?: { startedAt: number; evaluatedAtStart: number };
  private statusShown = false;

  constructor(
    private readonly stream: NodeJS.WritableStream & { columns?: number },
    private readonly mode: ProgressMode,
    private readonly now: () => number = Date.now,
  ) {}

  handle(event: OptimizeEvent): void {
    if (this.mode === "json") {
      this.stream.write(`${JSON.stringify(event)}\n`);
      return;
    }
    this.session ??= { startedAt: this.now(), evaluatedAtStart: event.progress.evaluated };
    const line = formatEventLine(event);
    const status = formatStatusLine(event.progress, rateAndEta(event.progress, { ...this.session, now: this.now() }));
    if (this.mode === "tty") {
      if (line) this.stream.write(`${this.statusShown ? "\r\x1b[K" : ""}${line}\n`);
      if (event.type === "run-end") {
        this.statusShown = false;
        return;
      }
      const width = Math.max(20, (this.stream.columns ?? 120) - 1);
      this.stream.write(`\r\x1b[K${status.slice(0, width)}`);
      this.statusShown = true;
      return;
    }
    if (line) this.stream.write(`${line}\n`);
    // Plain output: a status line per finished generation keeps logs short but informative.
    if (event.type === "generation-end") this.stream.write(`${status}\n`);
  }
}
