import type { Redis } from "ioredis";
import { HardwareProfileSchema, type HardwareProfile } from "../../core/protocol.js";
import { fleetKeys } from "./names.js";

/** What a live worker publishes about itself (refreshed by its heartbeat, gone when it stops). */
export interface WorkerRegistration {
  id: string;
  host: string;
  pid: number;
  platform: string;
  tag: string;
  queue: string;
  /** Jobs it evaluates at once. */
  concurrency: number;
  /** Jobs it is evaluating now. */
  active: number;
  /** Jobs it finished (completed or failed) since it started. */
  processed: number;
  failed: number;
  /** True after SIGTERM: it finishes its jobs and takes no new ones (not counted as capacity). */
  draining: boolean;
  profile: HardwareProfile;
  startedAt: number;
  heartbeatAt: number;
}

function parseRegistration(text: string | null): WorkerRegistration | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as WorkerRegistration;
    if (typeof value.id !== "string" || typeof value.queue !== "string" || !HardwareProfileSchema.safeParse(value.profile).success) return undefined;
    return value;
  } catch {
    return undefined;
  }
}

/** Publishes a registration with a TTL: a worker killed with -9 disappears after `ttlMs`. */
export async function publishWorker(redis: Redis, registration: WorkerRegistration, ttlMs: number): Promise<void> {
  await redis.set(fleetKeys.worker(registration.id), JSON.stringify(registration), "PX", Math.max(1, Math.round(ttlMs)));
  await redis.sadd(fleetKeys.queues, registration.queue);
}

export async function unpublishWorker(redis: Redis, id: string): Promise<void> {
  await redis.del(fleetKeys.worker(id));
}

/** Every live worker (SCAN over the heartbeat keys), optionally of one queue, sorted by id. */
export async function listWorkers(redis: Redis, queue?: string): Promise<WorkerRegistration[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", fleetKeys.workerPattern, "COUNT", 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== "0");
  if (!keys.length) return [];
  const values = await redis.mget(...keys);
  return values
    .map(parseRegistration)
    .filter((worker): worker is WorkerRegistration => worker !== undefined && (queue === undefined || worker.queue === queue))
    .sort((a, b) => a.id.localeCompare(b.id));
}
