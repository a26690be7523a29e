import { isAbsolute, relative, resolve } from "node:path";
import { z } from "zod";
import { KernelEvolveError } from "../../core/errors.js";
import { runPythonJson } from "../../platforms/python-process.js";

/** What the ExFM tools need from the composition root. */
export interface ExfmToolOptions {
  /** The Python executable (the project's virtual environment). */
  python: string;
  /** Folder placed on PYTHONPATH (the repository's python/). */
  pythonPath: string;
  /** Every dataset, checkpoint and spec the tools read or write lives under this folder. */
  workDirectory: string;
  /** Wall-time limit of one pipeline command (default 30 minutes). */
  timeoutMs?: number;
  /** Torch CPU threads for the pipeline (default: torch's choice). */
  threads?: number;
  /** Called with each progress line the pipeline prints. */
  onProgress?: (line: string) => void;
}

/** A recoverable problem the model can fix by changing its arguments. */
export class ExfmArgumentError extends Error {}

/** Resolves a tool path inside the work directory and refuses paths that escape it. */
export function resolveInside(workDirectory: string, path: string, field: string): string {
  const absolute = resolve(workDirectory, path);
  const offset = relative(resolve(workDirectory), absolute);
  if (offset.startsWith("..") || isAbsolute(offset)) {
    throw new ExfmArgumentError(`${field}: '${path}' is outside the work directory ${workDirectory}; use a path relative to it`);
  }
  return absolute;
}

/** Converts camelCase keys to the pipeline's snake_case, recursively; record keys such as domain ids pass unchanged. */
export function toSnakeCase(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toSnakeCase);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, item]) => item !== undefined)
        .map(([key, item]) => [key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`), key === "domainWeights" ? item : toSnakeCase(item)]),
    );
  }
  return value;
}

/** Formats zod issues as one line per bad field, for the model to read. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join(".") || "(arguments)"}: ${issue.message}`).join("; ");
}

/**
 * Makes a strict schema lenient for the tool runtime: the model still sees the strict JSON schema,
 * but invalid arguments reach the tool as `{ invalid }` so it can answer with text instead of throwing.
 */
export function lenient<T extends z.ZodTypeAny>(schema: T): z.ZodType<z.infer<T> | { invalid: z.ZodError }> {
  return schema.catch((context: { error: z.ZodError }) => ({ invalid: context.error })) as unknown as z.ZodType<z.infer<T> | { invalid: z.ZodError }>;
}

/** True when the lenient schema caught invalid arguments. */
export function isInvalid(input: unknown): input is { invalid: z.ZodError } {
  return typeof input === "object" && input !== null && "invalid" in input && (input as { invalid: unknown }).invalid instanceof z.ZodError;
}

/** Runs `python -m pipelines.exfm <command>` with snake_case JSON arguments and returns its JSON result. */
export async function callExfm(command: string, args: Record<string, unknown>, options: ExfmToolOptions): Promise<Record<string, unknown>> {
  const payload = toSnakeCase({ ...args, ...(options.threads && command !== "generate-data" ? { threads: options.threads } : {}) });
  return runPythonJson<Record<string, unknown>>("pipelines.exfm", [command, "--args-json", JSON.stringify(payload)], {
    python: options.python,
    pythonPath: options.pythonPath,
    cwd: options.workDirectory,
    timeoutMs: options.timeoutMs ?? 30 * 60 * 1000,
    onStderrLine: options.onProgress,
  });
}

/** Turns a failure into the text the model reads; the pipeline's own `error:` line is the most precise part. */
export function explainFailure(tool: string, error: unknown): string {
  if (error instanceof ExfmArgumentError) return `${tool}: invalid arguments: ${error.message}`;
  if (error instanceof KernelEvolveError) {
    const pipelineLine = error.message.split("\n").reverse().find((line) => line.startsWith("error: "));
    if (pipelineLine) return `${tool}: invalid arguments: ${pipelineLine.slice("error: ".length)}`;
    return `${tool} failed (${error.code}): ${error.message}`;
  }
  throw error;
}
