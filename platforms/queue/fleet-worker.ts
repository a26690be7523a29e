import { appendFileSync } from "node:fs";
import { hostname } from "node:os";
import { createHash, randomBytes } from "node:crypto";
import { UnrecoverableError, Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import { KernelEvolveError } from "../../core/errors.js";
import type { HardwareProfile } from "../../core/protocol.js";
import { parseSpec } from "../../core/spec-loader.js";
import type { KernelSpec } from "../../core/spec.js";
import type { Platform } from "../../core/types.js";
import { createRedisConnection } from "./connection.js";
import { DEFAULT_TAG, FLEET_PREFIX, queueName } from "./names.js";
import { USER_ERROR_PREFIX, type EvaluationJobData, type EvaluationJobResult } from "./protocol.js";
import { publishWorker, unpublishWorker, type WorkerRegistration } from "./registry.js";

export interface FleetWorkerOptions {
  url: string;
  /** The local platform that evaluates (the Python runtime's cpu/cuda/triton, or a plugin's). */
  platform: Platform;
  tag?: string;
  /** Jobs at once (default: the platform's capacity). */
  concurrency?: number;
  id?: string;
  /** A job's lock; a worker silent for this long is presumed dead and its job goes to another (default 30000). */
  lockDurationMs?: number;
  /** How often workers look for jobs whose lock expired (default 30000). */
  stalledIntervalMs?: number;
  /** Deaths of a job's worker tolerated before the job fails with worker_crash (default 1). */
  maxStalledCount?: number;
  /** Heartbeat period; the registration expires after 3 periods without one (default 5000). */
  heartbeatMs?: number;
  /** Appends one JSON line per job event (started, completed, failed) to this file. */
  journal?: string;
  log?: (line: string) => void;
}

export interface FleetWorkerHandle {
  id: string;
  queue: string;
  registration(): WorkerRegistration;
  /** Finishes the jobs in hand, takes no new ones, unregisters. */
  drain(): Promise<void>;
}

/**
 * Serves one queue (platform + tag) with a local platform: registers the worker's hardware profile
 * under a heartbeat key with a TTL, evaluates each job with `platform.evaluate`, and returns the
 * verdict as the job's return value. A request's own fault (bad spec) fails the job without retry;
 * a platform failure (the runtime died) is thrown, so BullMQ retries it within the job's attempts.
 */
export async function startFleetWorker(options: FleetWorkerOptions): Promise<FleetWorkerHandle> {
  const { platform } = options;
  const tag = options.tag ?? DEFAULT_TAG;
  const queue = queueName(platform.id, tag);
  const concurrency = options.concurrency ?? (await platform.capacity());
  const profile: HardwareProfile = await platform.hardwareProfile();
  const id = options.id ?? `${hostname().replace(/[^A-Za-z0-9_-]/g, "_")}-${process.pid}-${randomBytes(2).toString("hex")}`;
  const heartbeatMs = options.heartbeatMs ?? 5000;
  const log = options.log ?? (() => undefined);
  const journal = (event: Record<string, unknown>) => {
    if (options.journal) appendFileSync(options.journal, `${JSON.stringify({ time: Date.now(), worker: id, pid: process.pid, ...event })}\n`);
  };
  const registration: WorkerRegistration = {
    id,
    host: hostname(),
    pid: process.pid,
    platform: platform.id,
    tag,
    queue,
    concurrency,
    active: 0,
    processed: 0,
    failed: 0,
    draining: false,
    profile,
    startedAt: Date.now(),
    heartbeatAt: Date.now(),
  };
  const redis: Redis = createRedisConnection(options.url, `kernelevolve-worker-${id}`);
  redis.on("error", () => undefined);
  const heartbeat = async () => {
    registration.heartbeatAt = Date.now();
    await publishWorker(redis, registration, heartbeatMs * 3);
  };
  await heartbeat();
  const timer = setInterval(() => void heartbeat().catch(() => undefined), heartbeatMs);

  // Jobs of one run carry the same spec: validate each distinct spec once (bounded cache).
  const specs = new Map<string, KernelSpec>();
  const specOf = (data: Record<string, unknown>, jobId: string): KernelSpec => {
    const key = createHash("sha256").update(JSON.stringify(data)).digest("hex");
    let spec = specs.get(key);
    if (!spec) {
      spec = parseSpec(data, `in job ${jobId}`);
      if (specs.size >= 64) specs.delete(specs.keys().next().value!);
      specs.set(key, spec);
    }
    return spec;
  };

  const processor = async (job: Job<EvaluationJobData>): Promise<EvaluationJobResult> => {
    registration.active++;
    journal({ event: "started", jobId: job.id, attempt: job.attemptsMade + 1, stalled: job.stalledCounter });
    try {
      const spec = specOf(job.data.spec, String(job.id));
      const result = await platform.evaluate(spec, job.data.candidate, job.data.options);
      return { result, worker: { id, host: registration.host, device: profile.device } };
    } catch (error) {
      if (error instanceof KernelEvolveError && error.fault === "user") {
        throw new UnrecoverableError(`${USER_ERROR_PREFIX} ${error.code}: ${error.message}`);
      }
      throw error;
    } finally {
      registration.active--;
    }
  };

  const workerConnection = redis.duplicate();
  workerConnection.on("error", () => undefined);
  const worker = new Worker<EvaluationJobData, EvaluationJobResult>(queue, processor, {
    connection: workerConnection,
    prefix: FLEET_PREFIX,
    concurrency,
    lockDuration: options.lockDurationMs ?? 30_000,
    stalledInterval: options.stalledIntervalMs ?? 30_000,
    maxStalledCount: options.maxStalledCount ?? 1,
    metrics: { maxDataPoints: 60 * 24 },
  });
  worker.on("error", (error) => log(`worker ${id}: ${error.message}`));
  worker.on("completed", (job) => {
    registration.processed++;
    journal({ event: "completed", jobId: job.id, status: job.returnvalue?.result.status });
  });
  worker.on("failed", (job, error) => {
    registration.processed++;
    registration.failed++;
    journal({ event: "failed", jobId: job?.id, reason: error.message });
  });
  await worker.waitUntilReady();
  log(`worker ${id} serves ${queue} (concurrency ${concurrency}, ${profile.device})`);

  let draining: Promise<void> | undefined;
  return {
    id,
    queue,
    registration: () => ({ ...registration }),
    drain() {
      draining ??= (async () => {
        registration.draining = true;
        await heartbeat().catch(() => undefined);
        // close() without force: waits for the jobs in hand and fetches no more.
        await worker.close();
        clearInterval(timer);
        await unpublishWorker(redis, id).catch(() => undefined);
        redis.disconnect();
        workerConnection.disconnect();
      })();
      return draining;
    },
  };
}
