import { AsyncLocalStorage } from "node:async_hooks";

/**
 * Who an evaluation is for: the scope (a run id) and the candidate's id in it. The evolve graph sets
 * it around `platform.evaluate`; a platform that needs a stable identity (the queue platform's job
 * ids, for idempotent re-submission after a resume) reads it, and every other platform ignores it.
 * It travels through async calls, so the Platform interface stays as it is.
 */
export interface EvaluationIdentity {
  /** The run (or campaign member run) the candidate belongs to. */
  scope: string;
  /** The candidate's id within the scope (e.g. c0007). */
  candidateId: string;
}

const storage = new AsyncLocalStorage<EvaluationIdentity>();

/** Runs `work` with `identity` visible to the platform it calls. */
export function withEvaluationIdentity<T>(identity: EvaluationIdentity, work: () => T): T {
  return storage.run(identity, work);
}

/** The identity set by the caller of the current evaluation, if any. */
export function currentEvaluationIdentity(): EvaluationIdentity | undefined {
  return storage.getStore();
}
