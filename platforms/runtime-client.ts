import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createInterface } from "node:readline";
import { z } from "zod";
import { PlatformError } from "../core/errors.js";
import { formatZodIssues } from "../core/spec-loader.js";
import {
  EvaluationOptionsSchema,
  EvaluationResultSchema,
  HardwareProfileSchema,
  HelloResultSchema,
  PROTOCOL_VERSION,
  RuntimeResponseSchema,
  TimeReferenceResultSchema,
  type CandidateSource,
  type EvaluationOptions,
  type EvaluationResult,
  type HardwareProfile,
  type HelloResult,
  type TimeReferenceResult,
} from "../core/protocol.js";
import type { KernelSpec } from "../core/spec.js";
import { minimalEnvironment } from "./python-process.js";

/** A progress event the runtime printed (`{"event": ..., "id": ..., "data": ...}`). */
export interface RuntimeEvent {
  event: string;
  id?: string;
  data: Record<string, unknown>;
}

export interface RuntimeClientOptions {
  /** The Python executable (the project's virtual environment). */
  python: string;
  /** Folder put on PYTHONPATH; it holds the `kernelevolve_runtime` package. */
  pythonPath: string;
  cwd?: string;
  /** The parent's environment, filtered by minimalEnvironment: API keys never reach the runtime. */
  environment?: NodeJS.ProcessEnv;
  /** Variables added after filtering (e.g. the compile cache folder). */
  extraEnvironment?: Record<string, string>;
  /** Python module started with `-m`; default kernelevolve_runtime. */
  module?: string;
  /** Compile cache folder, sent with each evaluation as `cacheDir`; default: the runtime's own (.cache/compile). */
  compileCacheDirectory?: string;
  /** Arguments after `serve`. */
  serveArguments?: string[];
  /** Longest wait for the runtime to answer `hello` after a start; default 60 s (torch imports are slow). */
  startTimeoutMs?: number;
  /** How long close() waits for a clean exit before killing the process group; default 3 s. */
  shutdownGraceMs?: number;
  /** Extra seconds granted beyond the evaluation's own limits before the runtime is declared stuck. */
  watchdogMarginSeconds?: number;
  /** Every event the runtime sends. */
  onEvent?: (event: RuntimeEvent) => void;
  /** Every line the runtime writes to stderr (its log). */
  onStderrLine?: (line: string) => void;
}

export interface RequestOptions {
  signal?: AbortSignal;
  /** Rejects (and restarts the runtime) when no answer came in this time. */
  timeoutMs?: number;
  /** Events that carry this request's id. */
  onEvent?: (event: RuntimeEvent) => void;
  /** Called once the runtime is done with the request (answered or died), even after an abort. */
  onSettled?: () => void;
  /** Compile cache folder for this request only (e.g. a cold cache for a benchmark). */
  compileCacheDirectory?: string;
}

interface PendingRequest {
  method: string;
  /** The process it was sent to: only that process's death rejects it. */
  child: ChildProcessWithoutNullStreams;
  schema: z.ZodTypeAny;
  callerSettled: boolean;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  onEvent?: (event: RuntimeEvent) => void;
  onSettled?: () => void;
  cleanup: () => void;
}

const TAIL_CHARACTERS = 6000;

// Runtimes still alive when Node exits (a crash, a forgotten close) are killed with their group.
const liveProcessGroups = new Set<number>();
let exitHookInstalled = false;
function trackProcessGroup(pid: number): void {
  liveProcessGroups.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const group of liveProcessGroups) killGroup(group, "SIGKILL");
  });
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

function tail(text: string, characters = TAIL_CHARACTERS): string {
  return text.length > characters ? `…${text.slice(-characters)}` : text;
}

/**
 * Talks to one `python -m kernelevolve_runtime serve` process over JSON lines: ids match answers to
 * requests, every answer is validated, a dead runtime rejects what was pending and is restarted on
 * the next request.
 */
export class RuntimeClient {
  private child?: ChildProcessWithoutNullStreams;
  private starting?: Promise<HelloResult>;
  private helloResult?: HelloResult;
  private readonly pending = new Map<string, PendingRequest>();
  private readonly profiles = new Map<string, Promise<HardwareProfile>>();
  private nextId = 1;
  private stderrTail = "";
  private stdoutNoise = "";
  private closing?: Promise<void>;
  private readonly exitReasons = new WeakMap<ChildProcessWithoutNullStreams, string>();
  private startCount = 0;

  constructor(private readonly options: RuntimeClientOptions) {}

  /** Process id (and process group id) of the running runtime, if one runs. */
  get processId(): number | undefined {
    return this.child?.pid;
  }

  /** How many times a runtime process was started (1 after the first request, more after restarts). */
  get starts(): number {
    return this.startCount;
  }

  /** The last lines the runtime wrote to stderr. */
  get stderr(): string {
    return this.stderrTail;
  }

  /** Starts the runtime if needed and returns its `hello` answer (cached per process). */
  async hello(): Promise<HelloResult> {
    return this.ensureStarted();
  }

  /** The hardware profile of one platform, asked once and cached. */
  async hardwareProfile(platform: string): Promise<HardwareProfile> {
    let profile = this.profiles.get(platform);
    if (!profile) {
      profile = this.request("hardware_profile", { platform }, HardwareProfileSchema) as Promise<HardwareProfile>;
      this.profiles.set(platform, profile);
      // A failed lookup is not cached: the next call asks again.
      profile.catch(() => this.profiles.delete(platform));
    }
    return profile;
  }

  /** Evaluates one candidate; a failing candidate resolves with status "failed". */
  async evaluate(
    spec: KernelSpec,
    platform: string,
    candidate: CandidateSource,
    options: EvaluationOptions = {},
    requestOptions: RequestOptions = {},
  ): Promise<EvaluationResult> {
    const parsed = EvaluationOptionsSchema.parse(options);
    return (await this.request(
      "evaluate",
      { spec, platform, candidate, options: parsed, ...this.cacheParameter(requestOptions.compileCacheDirectory) },
      EvaluationResultSchema,
      { timeoutMs: this.watchdogMs(parsed, spec), ...requestOptions },
    )) as EvaluationResult;
  }

  /** Times the spec's reference alone at each size. */
  async timeReference(spec: KernelSpec, platform: string, options: EvaluationOptions = {}, requestOptions: RequestOptions = {}): Promise<TimeReferenceResult> {
    const parsed = EvaluationOptionsSchema.parse(options);
    return (await this.request("time_reference", { spec, platform, options: parsed, ...this.cacheParameter(requestOptions.compileCacheDirectory) }, TimeReferenceResultSchema, {
      timeoutMs: this.watchdogMs(parsed, spec),
      ...requestOptions,
    })) as TimeReferenceResult;
  }

  /** Sends a request (starting the runtime first) and resolves with its result validated by `schema`. */
  async request(method: string, params: Record<string, unknown>, schema: z.ZodTypeAny, options: RequestOptions = {}): Promise<unknown> {
    try {
      if (options.signal?.aborted) throw new PlatformError("aborted", `${method} was aborted before it was sent`);
      await this.ensureStarted();
    } catch (error) {
      // Never sent, so the runtime is already done with it.
      options.onSettled?.();
      throw error;
    }
    return this.send(method, params, schema, options);
  }

  /** Asks the runtime to shut down, then kills its process group after a grace period. */
  async close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private cacheParameter(override?: string): { cacheDir?: string } {
    const directory = override ?? this.options.compileCacheDirectory;
    return directory ? { cacheDir: directory } : {};
  }

  private watchdogMs(options: z.output<typeof EvaluationOptionsSchema>, spec: KernelSpec): number {
    // The runtime enforces these limits itself; the watchdog only catches a runtime that is stuck.
    // timeLimitSeconds bounds each step; the worker's total cap is (1 + 3 x sizes) x timeLimitSeconds
    // (candidate_run.total_time_limit in the Python runtime).
    const margin = this.options.watchdogMarginSeconds ?? 120;
    const sizes = options.sizes?.length ?? Object.keys(spec.sizes ?? {}).length;
    return (options.compileTimeLimitSeconds + (1 + 3 * Math.max(1, sizes)) * options.timeLimitSeconds + margin) * 1000;
  }

  private async ensureStarted(): Promise<HelloResult> {
    if (this.closing) throw new PlatformError("runtime_closed", "the runtime client was closed");
    if (this.child && this.helloResult) return this.helloResult;
    this.starting ??= this.start().finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async start(): Promise<HelloResult> {
    const module = this.options.module ?? "kernelevolve_runtime";
    const environment = minimalEnvironment(
      { PYTHONPATH: this.options.pythonPath, ...(this.options.extraEnvironment ?? {}) },
      // Undefined falls back to the parent's environment inside minimalEnvironment.
      this.options.environment,
    );
    this.stderrTail = "";
    this.stdoutNoise = "";
    const child = spawn(this.options.python, ["-m", module, "serve", ...(this.options.serveArguments ?? [])], {
      cwd: this.options.cwd,
      env: environment,
      stdio: ["pipe", "pipe", "pipe"],
      // Its own process group, so close() can kill the runtime together with anything it started.
      detached: true,
    });
    this.child = child;
    this.startCount += 1;
    const spawnFailure = new Promise<never>((_, reject) => {
      child.once("error", (error) => {
        reject(new PlatformError("python_unavailable", `cannot start ${this.options.python} -m ${module} serve: ${error.message}. Run the setup (scripts/setup.sh) first.`, { cause: error }));
      });
    });
    spawnFailure.catch(() => undefined);
    if (child.pid) trackProcessGroup(child.pid);
    child.stdin.on("error", () => {
      // EPIPE when the runtime died; the exit handler reports it.
    });
    child.stderr.setEncoding("utf8");
    createInterface({ input: child.stderr }).on("line", (line) => {
      this.stderrTail = tail(`${this.stderrTail}${line}\n`);
      this.options.onStderrLine?.(line);
    });
    createInterface({ input: child.stdout }).on("line", (line) => this.handleLine(line));
    child.once("exit", (code, signal) => this.handleExit(child, code, signal));

    const timeoutMs = this.options.startTimeoutMs ?? 60_000;
    try {
      const hello = (await Promise.race([
        this.send("hello", {}, HelloResultSchema, { timeoutMs }),
        spawnFailure,
      ])) as HelloResult;
      if (hello.protocol !== PROTOCOL_VERSION) {
        throw new PlatformError(
          "protocol_mismatch",
          `the Python runtime speaks protocol ${hello.protocol}, this client speaks ${PROTOCOL_VERSION}: update python/ and the Node package together`,
        );
      }
      this.helloResult = hello;
      return hello;
    } catch (error) {
      this.stop(child, "the runtime failed to start");
      // A process that never spawned emits no exit: settle its requests here.
      for (const [id, entry] of [...this.pending]) {
        if (entry.child !== child) continue;
        this.finish(id);
        entry.reject(error as Error);
      }
      if (error instanceof PlatformError && error.code === "python_unavailable") throw error;
      throw new PlatformError(
        "runtime_start_failed",
        `the Python runtime (${this.options.python} -m ${module} serve) did not start: ${(error as Error).message}${this.diagnostics()}`,
        { cause: error },
      );
    }
  }

  private send(method: string, params: Record<string, unknown>, schema: z.ZodTypeAny, options: RequestOptions): Promise<unknown> {
    const child = this.child;
    if (!child) return Promise.reject(new PlatformError("runtime_not_running", `cannot send ${method}: the runtime is not running`));
    const id = `r${this.nextId++}`;
    return new Promise<unknown>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => settleCaller(() => reject(new PlatformError("aborted", `${method} request ${id} was aborted`)));
      const entry: PendingRequest = {
        method,
        child,
        schema,
        callerSettled: false,
        resolve: (value) => settleCaller(() => resolve(value)),
        reject: (error) => settleCaller(() => reject(error)),
        onEvent: options.onEvent,
        onSettled: options.onSettled,
        cleanup: () => {
          if (timer) clearTimeout(timer);
          options.signal?.removeEventListener("abort", onAbort);
        },
      };
      const settleCaller = (settle: () => void) => {
        if (entry.callerSettled) return;
        entry.callerSettled = true;
        entry.cleanup();
        settle();
      };
      this.pending.set(id, entry);
      options.signal?.addEventListener("abort", onAbort, { once: true });
      if (options.signal?.aborted) onAbort();
      if (options.timeoutMs !== undefined) {
        timer = setTimeout(() => {
          settleCaller(() =>
            reject(new PlatformError("runtime_timeout", `the runtime did not answer ${method} request ${id} within ${(options.timeoutMs! / 1000).toFixed(1)} s${method === "hello" ? "" : this.diagnostics()}`)),
          );
          // A runtime that stops answering is stuck: kill it so the next request gets a fresh one.
          this.stop(child, `it did not answer ${method} request ${id} in time`);
        }, options.timeoutMs);
      }
      child.stdin.write(`${JSON.stringify({ id, method, params })}\n`);
    });
  }

  private handleLine(line: string): void {
    if (!line.trim()) return;
    let data: unknown;
    try {
      data = JSON.parse(line);
    } catch {
      // Stray prints on stdout break no request, but they are kept for the next error message.
      this.stdoutNoise = tail(`${this.stdoutNoise}${line}\n`, 2000);
      this.options.onEvent?.({ event: "runtime-output", data: { line } });
      return;
    }
    const parsed = RuntimeResponseSchema.safeParse(data);
    if (!parsed.success) {
      const id = typeof (data as { id?: unknown })?.id === "string" ? (data as { id: string }).id : undefined;
      const entry = id ? this.pending.get(id) : undefined;
      if (id && entry) {
        this.finish(id);
        entry.reject(new PlatformError("invalid_response", `the runtime's answer to ${entry.method} is not a protocol message:\n${formatZodIssues(parsed.error)}`));
      } else {
        this.stdoutNoise = tail(`${this.stdoutNoise}${line}\n`, 2000);
      }
      return;
    }
    const message = parsed.data;
    if ("event" in message) {
      const event: RuntimeEvent = { event: message.event, id: message.id, data: message.data };
      this.options.onEvent?.(event);
      if (message.id) this.pending.get(message.id)?.onEvent?.(event);
      return;
    }
    if (message.id === null && !message.ok) {
      this.stdoutNoise = tail(`${this.stdoutNoise}runtime error without id: ${message.error.code}: ${message.error.message}\n`, 2000);
      return;
    }
    if (message.id === null) return;
    const entry = this.pending.get(message.id);
    if (!entry) return; // an answer to a request that timed out or was given up
    this.finish(message.id);
    if (!message.ok) {
      entry.reject(new PlatformError(message.error.code, `the runtime failed ${entry.method}: ${message.error.message}`));
      return;
    }
    const result = entry.schema.safeParse(message.result);
    if (!result.success) {
      entry.reject(new PlatformError("invalid_response", `the runtime's ${entry.method} result does not match the protocol:\n${formatZodIssues(result.error)}`));
      return;
    }
    entry.resolve(result.data);
  }

  private finish(id: string): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    entry.cleanup();
    entry.onSettled?.();
  }

  private handleExit(child: ChildProcessWithoutNullStreams, code: number | null, signal: NodeJS.Signals | null): void {
    if (child.pid) {
      // Whatever the runtime left in its group goes with it.
      killGroup(child.pid, "SIGKILL");
      liveProcessGroups.delete(child.pid);
    }
    if (this.child === child) {
      this.child = undefined;
      this.helloResult = undefined;
    }
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const reason = this.exitReasons.get(child);
    const why = reason ? ` because ${reason}` : "";
    for (const [id, entry] of [...this.pending]) {
      if (entry.child !== child) continue;
      this.finish(id);
      // During start-up the caller (start) adds the diagnostics itself, once.
      const error = this.closing
        ? new PlatformError("runtime_closed", `the runtime was closed while ${entry.method} request ${id} was pending`)
        : entry.method === "hello"
          ? new PlatformError("runtime_died", `it ${how}${why} before answering hello`)
          : new PlatformError("runtime_died", `the Python runtime ${how}${why} while ${entry.method} request ${id} was pending; it restarts on the next request${this.diagnostics()}`);
      entry.reject(error);
    }
  }

  private stop(child: ChildProcessWithoutNullStreams, reason: string): void {
    if (!this.exitReasons.has(child)) this.exitReasons.set(child, reason);
    // Forget it now, so that a request made before its exit is noticed goes to a fresh process.
    if (this.child === child && !this.closing) {
      this.child = undefined;
      this.helloResult = undefined;
    }
    if (child.pid) killGroup(child.pid, "SIGKILL");
  }

  private diagnostics(): string {
    const parts: string[] = [];
    if (this.stderrTail.trim()) parts.push(`runtime stderr (last lines):\n${this.stderrTail.trim().split("\n").slice(-20).join("\n")}`);
    if (this.stdoutNoise.trim()) parts.push(`unexpected runtime stdout:\n${this.stdoutNoise.trim()}`);
    return parts.length ? `\n${parts.join("\n")}` : "";
  }

  private async shutdown(): Promise<void> {
    const child = this.starting ? await this.starting.then(() => this.child, () => this.child) : this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const grace = this.options.shutdownGraceMs ?? 3000;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    if (this.helloResult) {
      // A polite shutdown lets the runtime clean its temporary folders; its answer is not needed.
      this.send("shutdown", {}, z.unknown(), { timeoutMs: grace }).catch(() => undefined);
    }
    child.stdin.end();
    const timer = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), grace).unref());
    if ((await Promise.race([exited, timer])) === "timeout") this.stop(child, "it did not shut down in time");
    await exited;
  }
}
