/**
 * Exceptions are for misconfiguration, infrastructure and control flow; candidate failures are data
 * (EvaluationResult). Every error has a stable `code` and says whose fault it is.
 */
export type Fault = "user" | "model" | "platform" | "system";

/** Base class of every KernelEvolve exception. */
export class KernelEvolveError extends Error {
  readonly code: string;
  readonly fault: Fault;
  constructor(code: string, fault: Fault, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.fault = fault;
  }
}

/** Bad input from the user: an invalid spec, an unknown id, a bad flag. */
export class UserError extends KernelEvolveError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, "user", message, options);
  }
}

/** The model misbehaved beyond what a failed candidate can express (e.g. no reply after retries). */
export class ModelError extends KernelEvolveError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, "model", message, options);
  }
}

/** The platform or the Python runtime failed (not the candidate). */
export class PlatformError extends KernelEvolveError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, "platform", message, options);
  }
}

/** A bug or an environment problem in KernelEvolve itself. */
export class SystemError extends KernelEvolveError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, "system", message, options);
  }
}
