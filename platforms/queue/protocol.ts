import type { CandidateSource, EvaluationOptions, EvaluationResult } from "../../core/protocol.js";

/** The data of one evaluation job: the same params as the runtime's `evaluate` request, plus who it is for. */
export interface EvaluationJobData {
  /** The validated spec as JSON. */
  spec: Record<string, unknown>;
  platform: string;
  tag: string;
  candidate: CandidateSource;
  options: EvaluationOptions;
  /** Run id and candidate id when the caller named them (see core/evaluation-context.ts). */
  scope?: string;
  candidateId?: string;
  submittedAt: number;
}

/** A job's return value: the verdict and the worker that produced it. */
export interface EvaluationJobResult {
  result: EvaluationResult;
  worker: { id: string; host: string; device: string };
}

/** Prefix of a job failure that is the request's fault (bad spec, unknown size): never retried. */
export const USER_ERROR_PREFIX = "user_error:";
/** BullMQ's reason for a job that stalled (its worker died) more often than the worker's maxStalledCount. */
export const STALLED_REASON = "job stalled more than allowable limit";
/** Reason given to the waiter of a job removed by a cancelled run. */
export const CANCELLED_REASON = "cancelled: removed from the queue before a worker took it";
/** Reason given to waiters when the orchestrator's fleet client closes. */
export const CLOSED_REASON = "closed: the fleet client was closed while waiting";
