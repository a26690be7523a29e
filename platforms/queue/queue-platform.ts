import { PlatformError, UserError } from "../../core/errors.js";
import { currentEvaluationIdentity } from "../../core/evaluation-context.js";
import {
  CandidateSourceSchema,
  EvaluationOptionsSchema,
  EvaluationResultSchema,
  type CandidateSource,
  type EvaluationOptions,
  type EvaluationResult,
  type HardwareProfile,
  type Language,
} from "../../core/protocol.js";
import { formatZodIssues } from "../../core/spec-loader.js";
import type { KernelSpec } from "../../core/spec.js";
import type { Platform, PlatformCapabilities } from "../../core/types.js";
import { ConcurrencyLimit } from "../concurrency-limit.js";
import { redactUrl } from "./connection.js";
import { FleetClient } from "./fleet-client.js";
import { DEFAULT_TAG, evaluationKey, jobIdFor, queueName } from "./names.js";
import { CANCELLED_REASON, CLOSED_REASON, STALLED_REASON, USER_ERROR_PREFIX, type EvaluationJobData, type EvaluationJobResult } from "./protocol.js";
import type { WorkerRegistration } from "./registry.js";

/** What the orchestrator knows of a platform it does not run itself: the local definition's data. */
export interface QueuePlatformDefinition {
  id: string;
  languages: Language[];
  description: string;
  capabilities: PlatformCapabilities;
}

export interface QueuePlatformOptions {
  /** A shared client (campaigns, several platforms), or a URL for a client this platform owns. */
  client: FleetClient | string;
  /** Hardware tag of the workers that may serve it (default: workers started without --tag). */
  tag?: string;
  /** Tries per job when the worker reports a platform failure (default 3). Worker deaths are bounded by the workers' maxStalledCount. */
  attempts?: number;
  /** How long the live-worker view behind capacity() is reused (default 1000 ms). */
  capacityCacheMs?: number;
}

function refusedResult(platform: string, message: string): EvaluationResult {
  return { status: "failed", stage: "static", reason: "unsupported_platform", message, log: "", platform, staticFindings: [], trials: [], timings: [], flags: [], durations: { total: 0 } };
}

/** The verdict for a candidate whose job outlived more workers than the fleet allows. */
export function workerCrashResult(platform: string, killed: number, detail: string): EvaluationResult {
  return {
    status: "failed",
    stage: "correctness",
    reason: "crash",
    message: `worker_crash: the candidate killed ${killed} worker${killed === 1 ? "" : "s"} (each died while evaluating it); not retried further`,
    log: detail,
    platform,
    staticFindings: [],
    trials: [],
    timings: [],
    flags: ["worker_crash"],
    durations: {},
  };
}

/**
 * A Platform whose candidates are evaluated by `kernelevolve worker` processes through BullMQ on
 * Redis. It checks a request as the local platform does, then adds one job per evaluation to the
 * queue of its platform and tag and waits for the worker's verdict. Capacity is the slots of the
 * live workers of that queue; the hardware profile is the one those workers registered.
 */
export class QueuePlatform implements Platform {
  readonly id: string;
  readonly languages: Language[];
  readonly description: string;
  readonly capabilities: PlatformCapabilities;
  readonly tag: string;
  readonly queue: string;
  private readonly client: FleetClient;
  private readonly ownsClient: boolean;
  private readonly attempts: number;
  private readonly capacityCacheMs: number;
  private limit?: ConcurrencyLimit;
  private workerCache?: { at: number; workers: WorkerRegistration[] };
  /** Which worker produced each result this platform returned (job id -> worker id). */
  readonly evaluatedBy = new Map<string, string>();

  constructor(definition: QueuePlatformDefinition, options: QueuePlatformOptions) {
    this.id = definition.id;
    this.languages = [...definition.languages];
    this.capabilities = { ...definition.capabilities };
    this.tag = options.tag ?? DEFAULT_TAG;
    this.queue = queueName(definition.id, this.tag);
    this.description = `${definition.description} (through the fleet queue ${this.queue})`;
    this.client = typeof options.client === "string" ? new FleetClient({ url: options.client }) : options.client;
    this.ownsClient = typeof options.client === "string";
    this.attempts = options.attempts ?? 3;
    this.capacityCacheMs = options.capacityCacheMs ?? 1000;
  }

  /** The most evaluations this platform had in flight at once. */
  get peakConcurrency(): number {
    return this.limit?.peak ?? 0;
  }

  /** Live workers of this platform's queue that take new jobs (not draining). */
  async liveWorkers(fresh = false): Promise<WorkerRegistration[]> {
    const now = Date.now();
    if (fresh || !this.workerCache || now - this.workerCache.at > this.capacityCacheMs) {
      const workers = (await this.client.workers(this.queue)).filter((worker) => !worker.draining);
      this.workerCache = { at: now, workers };
    }
    return this.workerCache.workers;
  }

  async availability(): Promise<{ available: boolean; reason?: string }> {
    let workers: WorkerRegistration[];
    try {
      workers = await this.liveWorkers(true);
    } catch (error) {
      return { available: false, reason: `Redis at ${redactUrl(this.client.url)} is unreachable: ${(error as Error).message}` };
    }
    if (!workers.length) {
      const tag = this.tag === DEFAULT_TAG ? "" : ` --tag ${this.tag}`;
      return { available: false, reason: `no live worker serves queue ${this.queue} (start one: kernelevolve worker --queue ${redactUrl(this.client.url)} --platform ${this.id}${tag})` };
    }
    return { available: true };
  }

  /** The profile registered by the live workers of this queue (they are the ones that evaluate). */
  async hardwareProfile(): Promise<HardwareProfile> {
    const workers = await this.liveWorkers(true);
    if (!workers.length) throw new PlatformError("no_workers", `no live worker serves queue ${this.queue}, so there is no hardware profile`);
    const devices = new Map<string, string[]>();
    for (const worker of workers) devices.set(worker.profile.device, [...(devices.get(worker.profile.device) ?? []), worker.id]);
    const [first] = workers;
    const notes = [...(first.profile.notes ?? []), `evaluated by ${workers.length} fleet worker(s) on queue ${this.queue}: ${workers.map((worker) => `${worker.id}@${worker.host}`).join(", ")}`];
    if (devices.size > 1) notes.push(`workers differ: ${[...devices].map(([device, ids]) => `${device} (${ids.join(", ")})`).join("; ")}`);
    return { ...first.profile, platform: this.id, notes };
  }

  /** The slots of the live workers of this queue (at least 1: jobs wait for a worker to come). */
  async capacity(): Promise<number> {
    const workers = await this.liveWorkers();
    return Math.max(1, workers.reduce((sum, worker) => sum + worker.concurrency, 0));
  }

  async evaluate(spec: KernelSpec, candidate: CandidateSource, options: EvaluationOptions = {}, signal?: AbortSignal): Promise<EvaluationResult> {
    const identity = currentEvaluationIdentity();
    const source = CandidateSourceSchema.safeParse(candidate);
    if (!source.success) throw new UserError("invalid_candidate", `invalid candidate:\n${formatZodIssues(source.error)}`);
    const parsedOptions = EvaluationOptionsSchema.safeParse(options);
    if (!parsedOptions.success) throw new UserError("invalid_options", `invalid evaluation options:\n${formatZodIssues(parsedOptions.error)}`);
    if (!this.languages.includes(source.data.language)) {
      return refusedResult(this.id, `platform '${this.id}' runs ${this.languages.join(", ")} candidates, not ${source.data.language}`);
    }
    if (!spec.targets.includes(this.id)) return refusedResult(this.id, `spec '${spec.id}' targets ${spec.targets.join(", ")}, not '${this.id}'`);
    const unknownSizes = (parsedOptions.data.sizes ?? []).filter((size) => !(size in spec.sizes));
    if (unknownSizes.length) {
      throw new UserError("unknown_size", `spec '${spec.id}' has no size ${unknownSizes.map((size) => `'${size}'`).join(", ")}. Available: ${Object.keys(spec.sizes).join(", ")}`);
    }
    if (signal?.aborted) throw new PlatformError("aborted", `evaluation of a candidate for '${spec.id}' was aborted before it was queued`);

    const data: EvaluationJobData = {
      spec: spec as unknown as Record<string, unknown>,
      platform: this.id,
      tag: this.tag,
      candidate: source.data,
      options: parsedOptions.data,
      scope: identity?.scope,
      candidateId: identity?.candidateId,
      submittedAt: Date.now(),
    };
    const jobId = jobIdFor(identity, evaluationKey({ spec, platform: this.id, tag: this.tag, candidate: source.data, options: parsedOptions.data }));

    const limit = await this.concurrencyLimit();
    const release = await limit.acquire(signal);
    let released = false;
    const releaseOnce = () => {
      if (!released) (released = true), release();
    };
    const waiting = this.client.submitAndWait(this.queue, jobId, data, { attempts: this.attempts });
    // The slot stays taken until the job really ends, even when the caller gives up early.
    waiting.then(releaseOnce, releaseOnce);
    const aborted = signal
      ? new Promise<never>((_, reject) => {
          const onAbort = () => {
            // The slot is freed when `waiting` settles: at once for a removed job, at its end for a running one.
            void this.client.abandon(this.queue, jobId).catch(releaseOnce);
            reject(new PlatformError("aborted", `evaluation job ${jobId} was cancelled`));
          };
          if (signal.aborted) onAbort();
          else signal.addEventListener("abort", onAbort, { once: true });
          waiting.finally(() => signal.removeEventListener("abort", onAbort)).catch(() => undefined);
        })
      : undefined;
    const outcome = await (aborted ? Promise.race([waiting, aborted]) : waiting);
    if (outcome.state === "completed") {
      const value = (typeof outcome.value === "string" ? JSON.parse(outcome.value) : outcome.value) as EvaluationJobResult;
      const parsed = EvaluationResultSchema.safeParse(value?.result);
      if (!parsed.success) throw new PlatformError("bad_result", `job ${jobId} returned a result of the wrong shape:\n${formatZodIssues(parsed.error)}`);
      this.evaluatedBy.set(jobId, value.worker?.id ?? "unknown");
      return value.result;
    }
    return this.failedJob(jobId, outcome.reason);
  }

  /** The verdict or error of a job that failed for good. */
  private async failedJob(jobId: string, reason: string): Promise<EvaluationResult> {
    if (reason.startsWith(USER_ERROR_PREFIX)) {
      const [code, ...rest] = reason.slice(USER_ERROR_PREFIX.length).trim().split(": ");
      throw new UserError(code || "invalid_request", rest.join(": ") || reason);
    }
    if (reason.startsWith(CLOSED_REASON)) throw new PlatformError("platform_closed", `evaluation job ${jobId}: ${reason}; it stays queued and a resumed run re-attaches to it`);
    if (reason.startsWith(CANCELLED_REASON)) throw new PlatformError("aborted", `evaluation job ${jobId}: ${reason}`);
    const job = await this.client.job(this.queue, jobId).catch(() => undefined);
    if (reason.includes(STALLED_REASON)) {
      const killed = Math.max(1, Number(job?.stalledCounter ?? 0));
      return workerCrashResult(this.id, killed, `job ${jobId} on queue ${this.queue}: ${reason}`);
    }
    const attempts = job?.attemptsMade ?? this.attempts;
    throw new PlatformError("worker_failed", `job ${jobId} on queue ${this.queue} failed after ${attempts} attempt(s): ${reason}`);
  }

  /** Removes the queued (not started) jobs of a run; returns how many. */
  cancelScope(scope: string): Promise<number> {
    return this.client.cancelScope(scope, [this.queue]);
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.close();
  }

  private async concurrencyLimit(): Promise<ConcurrencyLimit> {
    const capacity = await this.capacity();
    if (!this.limit) this.limit = new ConcurrencyLimit(capacity);
    else this.limit.setLimit(capacity);
    return this.limit;
  }
}
