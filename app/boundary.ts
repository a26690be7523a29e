import { KernelEvolveError, SystemError } from "../core/errors.js";

/**
 * The public boundary's error rule: what leaves app/ and the library is a KernelEvolveError. Bad
 * input already is one (UserError, PlatformError, ModelError); anything else that escapes (a file
 * system error, a bug) becomes a SystemError that keeps the original as its cause.
 */

/** The error as a KernelEvolveError: itself when it is one, else a SystemError wrapping it. */
export function asKernelEvolveError(error: unknown, doing: string): KernelEvolveError {
  if (error instanceof KernelEvolveError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new SystemError("unexpected", `${doing} failed: ${message}`, { cause: error });
}

/**
 * Runs an async step of a public function so that whatever it throws is a KernelEvolveError.
 * @example return atBoundary("starting the run", () => startRun(composition, request));
 */
export async function atBoundary<T>(doing: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw asKernelEvolveError(error, doing);
  }
}
