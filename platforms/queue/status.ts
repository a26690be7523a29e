import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { FLEET_PREFIX, fleetKeys, parseQueueName } from "./names.js";
import { listWorkers, type WorkerRegistration } from "./registry.js";

export interface QueueStatus {
  name: string;
  platform: string;
  tag: string;
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
  /** Live workers serving it, and their slots (draining workers excluded). */
  workers: number;
  slots: number;
  /** Jobs completed per minute over at most the last `windowMinutes` (BullMQ's worker metrics; approximate within a minute). */
  completedPerMinute: number;
}

export interface FleetStatus {
  queues: QueueStatus[];
  workers: WorkerRegistration[];
  windowMinutes: number;
  time: number;
}

/** Queue depths, live workers and throughput of every queue the fleet has used. */
export async function fleetStatus(redis: Redis, options: { windowMinutes?: number } = {}): Promise<FleetStatus> {
  const windowMinutes = options.windowMinutes ?? 5;
  const workers = await listWorkers(redis);
  const names = new Set([...(await redis.smembers(fleetKeys.queues)), ...workers.map((worker) => worker.queue)]);
  const queues: QueueStatus[] = [];
  for (const name of [...names].sort()) {
    const parsed = parseQueueName(name);
    if (!parsed) continue;
    const queue = new Queue(name, { connection: redis, prefix: FLEET_PREFIX });
    try {
      const counts = await queue.getJobCounts("waiting", "active", "delayed", "completed", "failed", "prioritized", "paused");
      // BullMQ's worker metrics: one data point per finished minute (newest first) plus the running
      // count since the last point; the rate covers the finished minutes and the part of this one.
      const metrics = await queue.getMetrics("completed", 0, windowMinutes - 2);
      const finishedMinutes = metrics.data.slice(0, windowMinutes - 1);
      const current = Math.max(0, metrics.meta.count - metrics.meta.prevCount);
      const partial = metrics.meta.prevTS ? Math.min(1, Math.max(1 / 60, (Date.now() - metrics.meta.prevTS) / 60_000)) : 1;
      const done = finishedMinutes.reduce((sum, value) => sum + (Number(value) || 0), 0) + current;
      const minutes = finishedMinutes.length + partial;
      const serving = workers.filter((worker) => worker.queue === name && !worker.draining);
      queues.push({
        name,
        platform: parsed.platform,
        tag: parsed.tag,
        waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.paused ?? 0),
        active: counts.active ?? 0,
        delayed: counts.delayed ?? 0,
        completed: counts.completed ?? 0,
        failed: counts.failed ?? 0,
        workers: serving.length,
        slots: serving.reduce((sum, worker) => sum + worker.concurrency, 0),
        completedPerMinute: done / minutes,
      });
    } finally {
      await queue.close();
    }
  }
  return { queues, workers, windowMinutes, time: Date.now() };
}
