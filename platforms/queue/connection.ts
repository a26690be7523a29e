import { Redis } from "ioredis";
import { UserError } from "../../core/errors.js";

/** Checks a queue URL: redis:// or rediss:// with a host. */
export function parseQueueUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UserError("bad_usage", `--queue expects a Redis URL such as redis://localhost:6379, got '${url}'`);
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new UserError("bad_usage", `--queue expects a redis:// or rediss:// URL, got '${url}'`);
  }
  if (!parsed.hostname) throw new UserError("bad_usage", `--queue URL '${url}' names no host`);
  return url;
}

/** The URL without its password, for logs and the fleet view. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return url;
  }
}

/**
 * A connection as BullMQ wants it: commands wait through a Redis restart instead of failing
 * (maxRetriesPerRequest null, offline queue on), reconnecting every ≤ 1 s.
 */
export function createRedisConnection(url: string, name: string): Redis {
  return new Redis(parseQueueUrl(url), {
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    connectionName: name,
    retryStrategy: (attempt) => Math.min(1000, 50 * attempt),
  });
}
