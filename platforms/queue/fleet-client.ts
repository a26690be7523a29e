import { Job, Queue, QueueEvents } from "bullmq";
import type { Redis } from "ioredis";
import { PlatformError } from "../../core/errors.js";
import { createRedisConnection, redactUrl } from "./connection.js";
import { FLEET_PREFIX, fleetKeys, scopePrefix } from "./names.js";
import { CANCELLED_REASON, CLOSED_REASON, type EvaluationJobData } from "./protocol.js";
import { listWorkers, type WorkerRegistration } from "./registry.js";

/** How a job ended, as the orchestrator learns it (from an event or from polling). */
export type JobOutcome = { state: "completed"; value: unknown } | { state: "failed"; reason: string; job?: Job };

interface Waiter {
  queue: string;
  resolve: (outcome: JobOutcome) => void;
  /** The data to add again if Redis lost the job (a restart without persistence). */
  resubmit: () => Promise<void>;
}

export interface FleetClientOptions {
  url: string;
  /** How often outstanding jobs are checked directly, in case an event was missed (default 5000 ms). */
  pollMs?: number;
  /** Completed and failed jobs are kept this long, so a resumed orchestrator finds their results (default 24 h; docs/fleet.md sizes it). */
  keepSeconds?: number;
}

/**
 * The orchestrator's side of the fleet: one Redis connection, a BullMQ Queue and QueueEvents per
 * queue, and the waiters of outstanding jobs. Several QueuePlatforms (one per platform, or the runs
 * of a campaign) share one client. A job's end is learnt from the queue's event stream; a poll of
 * the outstanding jobs backs it up, so a missed event (Redis restarted, stream trimmed) never
 * leaves a waiter hanging, and a job Redis lost is added again.
 */
export class FleetClient {
  readonly url: string;
  readonly keepSeconds: number;
  private readonly pollMs: number;
  private readonly redis: Redis;
  private readonly queues = new Map<string, Queue>();
  private readonly events = new Map<string, Promise<QueueEvents>>();
  private readonly waiters = new Map<string, Waiter>();
  private readonly connections: Redis[] = [];
  private pollTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(options: FleetClientOptions) {
    this.url = options.url;
    this.pollMs = options.pollMs ?? 5000;
    this.keepSeconds = options.keepSeconds ?? 24 * 3600;
    this.redis = createRedisConnection(options.url, "kernelevolve-orchestrator");
    // ioredis reconnects by itself; an unhandled 'error' event would crash the process instead.
    this.redis.on("error", () => undefined);
  }

  private duplicate(): Redis {
    const connection = this.redis.duplicate();
    connection.on("error", () => undefined);
    this.connections.push(connection);
    return connection;
  }

  /** The connection for plain commands (worker list, queue set). */
  get connection(): Redis {
    return this.redis;
  }

  queue(name: string): Queue {
    if (this.closed) throw new PlatformError("platform_closed", `the fleet client of ${redactUrl(this.url)} is closed`);
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.duplicate(), prefix: FLEET_PREFIX });
      queue.on("error", () => undefined);
      this.queues.set(name, queue);
      void this.redis.sadd(fleetKeys.queues, name).catch(() => undefined);
    }
    return queue;
  }

  /** Resolves once the queue's event listener is reading the stream. */
  private queueEvents(name: string): Promise<QueueEvents> {
    let events = this.events.get(name);
    if (!events) {
      const queueEvents = new QueueEvents(name, { connection: this.duplicate(), prefix: FLEET_PREFIX });
      queueEvents.setMaxListeners(0);
      queueEvents.on("error", () => undefined);
      queueEvents.on("completed", ({ jobId, returnvalue }) => this.settle(jobId, { state: "completed", value: returnvalue }));
      queueEvents.on("failed", ({ jobId, failedReason }) => this.settle(jobId, { state: "failed", reason: failedReason }));
      events = queueEvents.waitUntilReady().then(() => queueEvents);
      this.events.set(name, events);
    }
    return events;
  }

  private settle(jobId: string, outcome: JobOutcome): void {
    const waiter = this.waiters.get(jobId);
    if (!waiter) return;
    this.waiters.delete(jobId);
    waiter.resolve(outcome);
  }

  /**
   * Adds a job (a no-op returning the existing one when the id is already there: that is how a
   * resumed orchestrator re-attaches) and waits for its end.
   */
  async submitAndWait(queueName: string, jobId: string, data: EvaluationJobData, options: { attempts: number }): Promise<JobOutcome> {
    const queue = this.queue(queueName);
    await this.queueEvents(queueName);
    const add = async () => {
      await queue.add("evaluate", data, {
        jobId,
        attempts: options.attempts,
        backoff: { type: "exponential", delay: 1000 },
        removeOnComplete: { age: this.keepSeconds },
        removeOnFail: { age: this.keepSeconds },
      });
    };
    const outcome = new Promise<JobOutcome>((resolve) => this.waiters.set(jobId, { queue: queueName, resolve, resubmit: add }));
    try {
      await add();
    } catch (error) {
      this.waiters.delete(jobId);
      throw new PlatformError("queue_unreachable", `could not add job ${jobId} to ${queueName} on ${redactUrl(this.url)}: ${(error as Error).message}`, { cause: error });
    }
    // The job may have finished before we listened (a resumed orchestrator, a re-used id).
    await this.check(jobId);
    this.startPolling();
    return outcome;
  }

  /**
   * Cancels one job: removes it when it has not started (its waiter then ends as cancelled); a running
   * job is left to finish and its waiter to end with it (so the caller's slot is freed only then).
   */
  async abandon(queueName: string, jobId: string): Promise<"removed" | "running" | "gone"> {
    const cancelled = () => this.settle(jobId, { state: "failed", reason: `${CANCELLED_REASON} (the caller gave up)` });
    const job = await this.queue(queueName).getJob(jobId);
    if (!job) {
      cancelled();
      return "gone";
    }
    const state = await job.getState();
    if (state === "waiting" || state === "delayed" || state === "prioritized" || state === "waiting-children") {
      try {
        await job.remove();
        cancelled();
        return "removed";
      } catch {
        return "running"; // taken by a worker in the meantime (remove refuses a locked job)
      }
    }
    if (state === "active") return "running";
    await this.check(jobId); // it ended meanwhile: its waiter gets the outcome
    return "gone";
  }

  /** Removes every job of a scope (run id) that has not started, from the given queues; returns how many. */
  async cancelScope(scope: string, queueNames?: string[]): Promise<number> {
    const names = queueNames ?? (await this.redis.smembers(fleetKeys.queues));
    const prefix = scopePrefix(scope);
    let removed = 0;
    for (const name of names) {
      const queue = this.queue(name);
      const jobs = await queue.getJobs(["waiting", "delayed", "prioritized", "paused"], 0, -1);
      for (const job of jobs) {
        if (!job?.id?.startsWith(prefix)) continue;
        try {
          await job.remove();
          removed++;
          this.settle(job.id, { state: "failed", reason: `${CANCELLED_REASON} (run ${scope} was cancelled)` });
        } catch {
          // Started in the meantime: it finishes and its result is kept.
        }
      }
    }
    return removed;
  }

  /** Live workers (optionally of one queue). */
  workers(queue?: string): Promise<WorkerRegistration[]> {
    return listWorkers(this.redis, queue);
  }

  /** Looks a job up directly and settles its waiter when it has ended; adds it again when Redis lost it. */
  private async check(jobId: string): Promise<void> {
    const waiter = this.waiters.get(jobId);
    if (!waiter) return;
    const queue = this.queue(waiter.queue);
    // The state first (a set lookup in Redis); the whole job only once it has ended.
    const state = await queue.getJobState(jobId);
    if (state === "unknown") {
      if (this.waiters.has(jobId)) await waiter.resubmit();
      return;
    }
    if (state !== "completed" && state !== "failed") return;
    const job = await Job.fromId(queue, jobId);
    if (job?.finishedOn) {
      if (job.failedReason && !job.returnvalue) this.settle(jobId, { state: "failed", reason: job.failedReason, job });
      else this.settle(jobId, { state: "completed", value: job.returnvalue });
    }
  }

  private startPolling(): void {
    if (this.pollTimer || this.closed) return;
    this.pollTimer = setInterval(() => {
      void (async () => {
        for (const jobId of [...this.waiters.keys()]) {
          try {
            await this.check(jobId);
          } catch {
            // Redis unreachable: the next poll tries again.
          }
        }
        if (!this.waiters.size && this.pollTimer) {
          clearInterval(this.pollTimer);
          this.pollTimer = undefined;
        }
      })();
    }, this.pollMs);
    this.pollTimer.unref();
  }

  /** A job by id (for the verdict of a failed job: attempts, stalls). */
  async job(queueName: string, jobId: string): Promise<Job | undefined> {
    return (await this.queue(queueName).getJob(jobId)) ?? undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    for (const [jobId, waiter] of this.waiters) waiter.resolve({ state: "failed", reason: `${CLOSED_REASON} (job ${jobId})` });
    this.waiters.clear();
    const events = await Promise.allSettled([...this.events.values()]);
    await Promise.allSettled([
      ...events.flatMap((entry) => (entry.status === "fulfilled" ? [entry.value.close()] : [])),
      ...[...this.queues.values()].map((queue) => queue.close()),
    ]);
    for (const connection of [...this.connections, this.redis]) connection.disconnect();
  }
}
