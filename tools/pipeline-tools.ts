import { mkdirSync } from "node:fs";
import { isAbsolute, relative, resolve } from "node:path";
import { tool, type StructuredToolInterface } from "@langchain/core/tools";
import { z } from "zod";
import { KernelEvolveError, PlatformError, UserError } from "../core/errors.js";
import { runPythonJson } from "../platforms/python-process.js";

/**
 * Agent tools over the Python pipelines (python/pipelines/<name>, whose command line is
 * python/pipelines/command_line.py). A pipeline is a table of `PipelineTool`s: the tool's name, description and
 * zod schema (what the model reads), the pipeline command it runs, which arguments are paths, and how the result
 * reads as text. `createPipelineTools` turns the table into LangChain tools that share one way to run a command:
 * the Python the entry point resolved (from KERNELEVOLVE_PYTHON), arguments as `--args-json` in snake_case, cancellation through the tool
 * call's AbortSignal, progress lines from stderr, the last stdout line parsed as the JSON result, and errors as
 * text the model can act on (the pipeline's `error:` line, with the stderr tail for a crash).
 */

/** What every pipeline's tools need from the composition root. */
export interface PipelineToolOptions {
  /** The Python executable: the entry points resolve it ($KERNELEVOLVE_PYTHON, else the project's .venv); the library reads no environment. */
  python: string;
  /** Folder placed on PYTHONPATH (the repository's python/). */
  pythonPath: string;
  /** Every dataset, checkpoint and spec the tools read or write lives under this folder (created on first use). */
  workDirectory: string;
  /** Wall-time limit of one pipeline command (default: the tool's own, else 30 minutes). */
  timeoutMs?: number;
  /** Torch CPU threads (default: torch's choice). */
  threads?: number;
  /** Stops every running command of these tools (a tool call's own signal stops its command too). */
  signal?: AbortSignal;
  /** Receives each progress line a pipeline prints on stderr. */
  onProgress?: (line: string, event: PipelineProgress) => void;
}

/** One progress line of a running command. */
export interface PipelineProgress {
  tool: string;
  command: string;
  line: string;
  /** Milliseconds since the command started. */
  elapsedMs: number;
}

/** The JSON result line of a pipeline command (`ok` is true: failures become errors). */
export type PipelineResult = { ok: true; command: string } & Record<string, unknown>;

/** What a tool's callbacks get besides the result and the input. */
export interface PipelineToolContext<O extends PipelineToolOptions> {
  options: O;
  /** Resolves a path inside the work directory (refusing one outside it). */
  inside(path: string, field: string): string;
}

/** One row of a pipeline's table: a tool and the command it runs. */
export interface PipelineTool<S extends z.ZodTypeAny = z.ZodTypeAny, O extends PipelineToolOptions = PipelineToolOptions> {
  /** The tool's name (what the model calls). */
  name: string;
  /** The pipeline command it runs (`python -m <module> <command>`). */
  command: string;
  description: string;
  /** The tool's arguments (camelCase), described for the model; the pipeline receives them in snake_case. */
  schema: S;
  /** Arguments holding a path (or a list of paths) relative to the work directory; they reach the pipeline absolute. */
  paths?: readonly string[];
  /** Arguments the pipeline spells otherwise, by their camelCase name: { modelConfig: "config" }. */
  rename?: Readonly<Record<string, string>>;
  /** Wall-time limit of this command when the options give none. */
  timeoutMs?: number;
  /** A first line for the model; the result JSON follows it (without ok and command). Default: the result JSON alone. */
  summary?(result: PipelineResult, input: z.infer<S>, context: PipelineToolContext<O>): string;
  /** Adds to the result after the command ran (e.g. files written on the TypeScript side from it). */
  enrich?(result: PipelineResult, input: z.infer<S>, context: PipelineToolContext<O>): PipelineResult | Promise<PipelineResult>;
}

/** A pipeline: its Python module and the table of its tools. */
export interface Pipeline<O extends PipelineToolOptions = PipelineToolOptions> {
  /** The module run with `python -m`, e.g. pipelines.aovift. */
  module: string;
  tools: readonly PipelineTool<z.ZodTypeAny, O>[];
}

/** Declares one row of a table with its input type inferred from the schema. */
export function pipelineTool<S extends z.ZodTypeAny, O extends PipelineToolOptions = PipelineToolOptions>(row: PipelineTool<S, O>): PipelineTool<S, O> {
  return row;
}

/** A problem the model can fix by changing its arguments (found before the pipeline runs). */
export class PipelineArgumentError extends UserError {
  constructor(message: string) {
    super("pipeline_arguments", message);
  }
}

/** A pipeline command that ran and reported an error: `message` is its `error:` line (the user's fault for bad input). */
export class PipelineCommandError extends KernelEvolveError {
  /** True when the pipeline refused its input (exit code 2): the caller can fix the arguments. */
  readonly invalidArguments: boolean;
  /** The last lines the pipeline printed on stderr. */
  readonly stderrTail: string;
  constructor(message: string, stderrTail: string) {
    const invalidArguments = message.startsWith("invalid arguments for ");
    super(invalidArguments ? "pipeline_invalid_arguments" : "pipeline_failed", invalidArguments ? "user" : "platform", message);
    this.invalidArguments = invalidArguments;
    this.stderrTail = stderrTail;
  }
}

/** Resolves a path inside the work directory, refusing one that escapes it. */
export function insideWorkDirectory(workDirectory: string, path: string, field: string): string {
  const absolute = resolve(workDirectory, path);
  const offset = relative(resolve(workDirectory), absolute);
  if (offset.startsWith("..") || isAbsolute(offset)) {
    throw new PipelineArgumentError(`${field}: '${path}' lies outside the work directory ${workDirectory}; give a path relative to it`);
  }
  return absolute;
}

/** camelCase keys to the pipelines' snake_case, recursively, dropping undefined values (digit keys pass unchanged). */
export function toSnakeCase(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toSnakeCase);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, item]) => item !== undefined)
        .map(([key, item]) => [key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`), toSnakeCase(item)]),
    );
  }
  return value;
}

/** One line per invalid field, for the model to read. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join(".") || "(arguments)"}: ${issue.message}`).join("; ");
}

type Invalid = { invalid: z.ZodError };

/**
 * Wraps a strict schema so invalid arguments reach the tool as `{ invalid }` (answered with text) instead of
 * making the tool runtime throw; the model still reads the strict JSON schema.
 */
export function lenient<T extends z.ZodTypeAny>(schema: T): z.ZodType<z.infer<T> | Invalid> {
  return schema.catch((context: { error: z.ZodError }) => ({ invalid: context.error })) as unknown as z.ZodType<z.infer<T> | Invalid>;
}

const isInvalid = (value: unknown): value is Invalid =>
  typeof value === "object" && value !== null && "invalid" in value && (value as Invalid).invalid instanceof z.ZodError;

/** How one command runs: the tools' options, with each stderr line handed to `onLine`. */
export type RunPipelineCommand = Omit<PipelineToolOptions, "onProgress"> & { onLine?: (line: string) => void };

/**
 * Runs `python -m <module> <command> --args-json <snake_case args> [--threads N]` in the work directory and
 * returns its JSON result line. A reported failure throws PipelineCommandError; a timeout, an abort or a missing
 * Python throw the PlatformError of platforms/python-process.ts.
 */
export async function runPipelineCommand(module: string, command: string, args: Record<string, unknown>, options: RunPipelineCommand): Promise<PipelineResult> {
  if (options.signal?.aborted) throw new PlatformError("aborted", `python -m ${module} ${command} was stopped before it started`);
  // A fresh checkout has no cache folder yet: the pipeline runs inside it, so create it first.
  mkdirSync(options.workDirectory, { recursive: true });
  const argv = [command, "--args-json", JSON.stringify(toSnakeCase(args))];
  if (options.threads) argv.push("--threads", String(options.threads));
  let result: unknown;
  try {
    result = await runPythonJson(module, argv, {
      python: options.python,
      pythonPath: options.pythonPath,
      cwd: options.workDirectory,
      timeoutMs: options.timeoutMs ?? 30 * 60 * 1000,
      onStderrLine: options.onLine,
      signal: options.signal,
    });
  } catch (error) {
    if (!(error instanceof PlatformError) || error.code !== "python_failed") throw error;
    const tail = error.message.split("\n").slice(1);
    const reported = [...tail].reverse().find((line) => line.startsWith("error: "));
    throw new PipelineCommandError(reported ? reported.slice("error: ".length) : error.message.split("\n")[0], tail.join("\n"));
  }
  if (!result || typeof result !== "object" || (result as { ok?: unknown }).ok !== true) {
    throw new PipelineCommandError(`${command} printed no result line: ${JSON.stringify(result)}`, "");
  }
  return result as PipelineResult;
}

/** The text the model reads for a failed call; errors it cannot act on (an abort, a bug) are rethrown. */
export function explainFailure(toolName: string, error: unknown): string {
  if (error instanceof PipelineArgumentError) return `${toolName}: invalid arguments: ${error.message}. Fix them and call ${toolName} again.`;
  if (error instanceof PipelineCommandError) {
    if (error.invalidArguments) return `${toolName} failed: ${error.message}. Fix the arguments and call ${toolName} again.`;
    return `${toolName} failed: ${error.message}\nLast lines of the pipeline's stderr:\n${error.stderrTail}`;
  }
  if (error instanceof KernelEvolveError && error.code !== "aborted") return `${toolName} failed (${error.code}): ${error.message}`;
  throw error;
}

/** Resolves the path arguments of a row inside the work directory and renames the arguments the pipeline spells otherwise. */
function pipelineArguments(row: PipelineTool<z.ZodTypeAny, PipelineToolOptions>, input: Record<string, unknown>, workDirectory: string): Record<string, unknown> {
  const args: Record<string, unknown> = { ...input };
  for (const field of row.paths ?? []) {
    const value = args[field];
    if (typeof value === "string") args[field] = insideWorkDirectory(workDirectory, value, field);
    else if (Array.isArray(value)) args[field] = value.map((item, index) => insideWorkDirectory(workDirectory, String(item), `${field}.${index}`));
  }
  for (const [from, to] of Object.entries(row.rename ?? {})) {
    if (from in args) {
      args[to] = args[from];
      delete args[from];
    }
  }
  return args;
}

/** The text of a result: the row's summary line and the result JSON without ok and command, or the result JSON. */
function resultText(summary: string | undefined, result: PipelineResult): string {
  if (summary === undefined) return JSON.stringify(result);
  const { ok: _ok, command: _command, ...rest } = result;
  return `${summary}\n${JSON.stringify(rest)}`;
}

/**
 * Turns a pipeline's table into LangChain tools. Each validates its arguments (invalid ones are answered with the
 * fields to fix), runs its command, and answers with text; a call's AbortSignal (or `options.signal`) kills the
 * command's process group.
 * @example const tools = createPipelineTools(AOVIFT_PIPELINE, { pythonPath: "python", workDirectory: ".cache/pipelines/aovift" });
 */
export function createPipelineTools<O extends PipelineToolOptions>(pipeline: Pipeline<O>, options: O): StructuredToolInterface[] {
  const context: PipelineToolContext<O> = { options, inside: (path, field) => insideWorkDirectory(options.workDirectory, path, field) };
  return pipeline.tools.map((row) =>
    tool(
      async (input: unknown, config?: { signal?: AbortSignal }) => {
        if (isInvalid(input)) return `${row.name}: invalid arguments: ${describeIssues(input.invalid)}. Fix them and call ${row.name} again.`;
        const started = Date.now();
        const signals = [options.signal, config?.signal].filter((signal): signal is AbortSignal => signal !== undefined);
        try {
          let result = await runPipelineCommand(pipeline.module, row.command, pipelineArguments(row, input as Record<string, unknown>, options.workDirectory), {
            python: options.python,
            pythonPath: options.pythonPath,
            workDirectory: options.workDirectory,
            timeoutMs: options.timeoutMs ?? row.timeoutMs,
            threads: options.threads,
            signal: signals.length > 1 ? AbortSignal.any(signals) : signals[0],
            onLine: options.onProgress && ((line) => options.onProgress?.(line, { tool: row.name, command: row.command, line, elapsedMs: Date.now() - started })),
          });
          if (row.enrich) result = await row.enrich(result, input, context);
          return resultText(row.summary?.(result, input, context), result);
        } catch (error) {
          return explainFailure(row.name, error);
        }
      },
      { name: row.name, description: row.description, schema: lenient(row.schema) },
    ) as unknown as StructuredToolInterface,
  );
}
