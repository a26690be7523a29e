import type { HardwareProfile, Language } from "../../core/protocol.js";
import type { KernelSpec } from "../../core/spec.js";
import type { ContextProvider, Operator, Platform, SelectionPolicy } from "../../core/types.js";
import type { RunDatabase } from "../runs/run-database.js";
import type { EventPayload, OptimizeEvent, OptimizeEventType, RunProgress } from "./events.js";
import type { RunSettings } from "./options.js";
import type { SeedKernel } from "./seeds.js";

/** Everything the graph's nodes share for one session of a run (rebuilt on resume). */
export interface EngineContext {
  db: RunDatabase;
  spec: KernelSpec;
  platform: Platform;
  operator: Operator;
  policy: SelectionPolicy;
  seeds: SeedKernel[];
  settings: RunSettings;
  language: Language;
  profile?: HardwareProfile;
  contextProvider?: ContextProvider;
  /** Fires when a person stops the run or its time budget runs out. */
  signal?: AbortSignal;
  /** Fires only when the time budget runs out (in-flight evaluations cut short are recorded as failed). */
  deadline?: AbortSignal;
  /** Evaluations at once: the platform's capacity, lowered by settings.concurrency. */
  concurrency: number;
  generationSize: number;
  /** Working time of the run, this session included. */
  activeMs(): number;
  emit<T extends OptimizeEventType>(type: T, payload: EventPayload<T>, generation: number): void;
  /** Wall time with at least one evaluation in flight, for the orchestration share. */
  evaluationClock: EvaluationClock;
}

/** Measures the union of the intervals during which evaluations run. */
export class EvaluationClock {
  private inFlight = 0;
  private startedAt = 0;
  busyMs = 0;
  constructor(private readonly now: () => number = () => performance.now()) {}
  start(): void {
    if (this.inFlight++ === 0) this.startedAt = this.now();
  }
  stop(): void {
    if (--this.inFlight === 0) this.busyMs += this.now() - this.startedAt;
  }
}

/** Builds the emitter: each event gets a progress snapshot, goes into the run database and to the listener. */
export function createEmitter(
  db: RunDatabase,
  settings: RunSettings,
  activeMs: () => number,
  listener: ((event: OptimizeEvent) => void) | undefined,
): EngineContext["emit"] {
  return (type, payload, generation) => {
    const totals = db.totals();
    const run = db.run();
    const progress: RunProgress = {
      generation,
      candidates: totals.candidates,
      evaluated: totals.passed + totals.failed,
      passed: totals.passed,
      failed: totals.failed,
      pending: totals.pending,
      bestCandidateId: run.bestCandidateId,
      bestFitness: run.bestFitness,
      tokens: totals.tokensInput + totals.tokensOutput,
      costUsd: totals.costUsd,
      activeMs: activeMs(),
      budget: {
        candidates: settings.budget.candidates,
        timeMs: settings.budget.timeSeconds !== undefined ? settings.budget.timeSeconds * 1000 : undefined,
        tokens: settings.budget.tokens,
        costUsd: settings.budget.costUsd,
      },
    };
    const event = { ...payload, type, runId: db.runId, time: Date.now(), progress } as unknown as OptimizeEvent;
    const { runId: _runId, time: _time, progress: _progress, type: _type, ...data } = event as OptimizeEvent & Record<string, unknown>;
    db.addEvent(type, data, event.time);
    listener?.(event);
  };
}
