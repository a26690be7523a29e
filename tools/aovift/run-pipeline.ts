import { mkdirSync } from "node:fs";
import { isAbsolute, relative, resolve } from "node:path";
import { z } from "zod";
import { KernelEvolveError } from "../../core/errors.js";
import { runPythonJson } from "../../platforms/python-process.js";

/** What the AOViFT tools need from the composition root. */
export interface AoviftToolOptions {
  /** The Python executable (the project's virtual environment). */
  python: string;
  /** Folder placed on PYTHONPATH (the repository's python/). */
  pythonPath: string;
  /** Every dataset, checkpoint and spec the tools read or write lives under this folder. */
  workDirectory: string;
  /** Wall-time limit of one pipeline command (default 30 minutes). */
  timeoutMs?: number;
  /** Torch CPU threads (default: torch's choice). */
  threads?: number;
  /** The repository's seeds/ folder: profiled operators that fit one of its seeded specs get a spec with seeds. */
  seedsRoot?: string;
  /** Receives each progress line the pipeline prints on stderr. */
  onProgress?: (line: string) => void;
}

/** A problem the model can fix by changing its arguments. */
export class AoviftArgumentError extends Error {}

/** Resolves a path inside the work directory, refusing one that escapes it. */
export function insideWorkDirectory(workDirectory: string, path: string, field: string): string {
  const absolute = resolve(workDirectory, path);
  const offset = relative(resolve(workDirectory), absolute);
  if (offset.startsWith("..") || isAbsolute(offset)) {
    throw new AoviftArgumentError(`${field}: '${path}' lies outside the work directory ${workDirectory}; give a path relative to it`);
  }
  return absolute;
}

/** Renames camelCase keys to the pipeline's snake_case, recursively, dropping undefined values. */
export function snakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, item]) => item !== undefined)
        .map(([key, item]) => [key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`), snakeKeys(item)]),
    );
  }
  return value;
}

/** One line per invalid field, for the model to read. */
export function listIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join(".") || "(arguments)"}: ${issue.message}`).join("; ");
}

/**
 * Wraps a strict schema so invalid arguments reach the tool as `{ invalid }` (answered with text)
 * instead of making the tool runtime throw; the model still reads the strict JSON schema.
 */
export function tolerant<T extends z.ZodTypeAny>(schema: T): z.ZodType<z.infer<T> | { invalid: z.ZodError }> {
  return schema.catch((context: { error: z.ZodError }) => ({ invalid: context.error })) as unknown as z.ZodType<z.infer<T> | { invalid: z.ZodError }>;
}

/** Result line of `python -m pipelines.aovift <command>`. */
export type PipelineResult = { ok: true; command: string } & Record<string, unknown>;

/** Runs one pipeline command with JSON arguments and returns its parsed result line. */
export async function runAovift(command: string, args: Record<string, unknown>, options: AoviftToolOptions): Promise<PipelineResult> {
  // A fresh checkout has no cache folder yet: the pipeline runs inside it, so create it first.
  mkdirSync(options.workDirectory, { recursive: true });
  const argv = [command, "--args-json", JSON.stringify(snakeKeys(args))];
  if (options.threads) argv.push("--threads", String(options.threads));
  return runPythonJson<PipelineResult>("pipelines.aovift", argv, {
    python: options.python,
    pythonPath: options.pythonPath,
    cwd: options.workDirectory,
    timeoutMs: options.timeoutMs ?? 30 * 60 * 1000,
    onStderrLine: options.onProgress,
  });
}

/** Turns an error of a tool call into text the model can act on; unknown errors are rethrown. */
export function explainFailure(toolName: string, error: unknown): string {
  if (error instanceof AoviftArgumentError) return `${toolName}: invalid arguments: ${error.message}`;
  if (error instanceof KernelEvolveError) {
    const lines = error.message.split("\n");
    const reason = lines.find((line) => line.startsWith("invalid arguments for")) ?? lines.slice(-4).join("\n");
    return `${toolName} failed: ${reason}. Fix the arguments and call it again.`;
  }
  throw error;
}
