/**
 * Typed events of an optimisation run, in the order they happen. Each carries the run id, the
 * time and a progress snapshot, so a renderer (CLI, chat, a web page) needs no other source.
 */
export interface RunProgress {
  generation: number;
  candidates: number;
  evaluated: number;
  passed: number;
  failed: number;
  pending: number;
  bestCandidateId?: string;
  bestFitness: number;
  tokens: number;
  costUsd: number;
  /** Working time of the run so far, summed over sessions. */
  activeMs: number;
  /** Limits, where set, for ETAs. */
  budget: { candidates?: number; timeMs?: number; tokens?: number; costUsd?: number };
}

interface EventBase {
  runId: string;
  time: number;
  progress: RunProgress;
}

export type OptimizeEvent =
  | (EventBase & { type: "run-start"; specId: string; platform: string; operator: string; policy: string; folder: string; resumed: boolean })
  | (EventBase & { type: "generation-start"; generation: number; parentGroups: number })
  | (EventBase & { type: "candidate-start"; candidateId: string; generation: number; parentIds: string[]; strategy?: string })
  | (EventBase & {
      type: "candidate-end";
      candidateId: string;
      generation: number;
      status: "passed" | "failed";
      fitness: number;
      reason?: string;
      message: string;
      seconds: number;
    })
  | (EventBase & { type: "best-improved"; candidateId: string; generation: number; fitness: number; previousFitness: number; strategy?: string })
  | (EventBase & { type: "generation-end"; generation: number; proposed: number })
  | (EventBase & { type: "operator-error"; generation: number; message: string })
  | (EventBase & { type: "run-warning"; message: string })
  | (EventBase & { type: "run-end"; reason: string; bestCandidateId?: string; bestFitness: number; status: "completed" | "stopped" | "interrupted" | "failed" })
  | (EventBase & { type: "model-retry"; model: string; attempt: number; delayMs: number; message: string });

export type OptimizeEventType = OptimizeEvent["type"];

/** Distributes an event type's payload without the common fields. */
export type EventPayload<T extends OptimizeEventType> = Omit<Extract<OptimizeEvent, { type: T }>, keyof EventBase | "type">;
