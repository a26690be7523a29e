import { KernelEvolveError } from "../../../core/errors.js";

/** Thrown when the caller aborts a run; the run stays resumable. */
export class RunInterruptedError extends KernelEvolveError {
  constructor() {
    super("interrupted", "user", "the run was interrupted; `kernelevolve resume` continues it");
  }
}

/** Stops a node at a safe point once the run's signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new RunInterruptedError();
}
