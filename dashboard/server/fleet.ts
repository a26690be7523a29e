/**
 * The fleet panel's data: queue depths, workers with their hardware, throughput, read from the
 * queue platform (platforms/queue, BullMQ on Redis) when the dashboard was given a queue URL.
 * The queue modules are loaded only then, so a dashboard without a fleet never opens Redis.
 */

export interface FleetView {
  configured: boolean;
  url?: string;
  error?: string;
  status?: unknown;
}

export interface FleetReader {
  read(): Promise<FleetView>;
  close(): Promise<void>;
}

/** A reader that answers `{configured:false}` without a URL, and the fleet's status with one. */
export async function createFleetReader(url: string | undefined): Promise<FleetReader> {
  if (!url) return { read: async () => ({ configured: false }), close: async () => {} };
  let queue: typeof import("../../platforms/queue/index.js");
  try {
    queue = await import("../../platforms/queue/index.js");
  } catch (error) {
    const message = `the queue platform could not be loaded: ${(error as Error).message}`;
    return { read: async () => ({ configured: true, url, error: message }), close: async () => {} };
  }
  queue.parseQueueUrl(url);
  const shown = queue.redactUrl(url);
  const redis = queue.createRedisConnection(url, "kernelevolve-dashboard");
  return {
    async read() {
      try {
        const status = await Promise.race([
          queue.fleetStatus(redis, { windowMinutes: 5 }),
          new Promise((_, reject) => setTimeout(() => reject(new Error("Redis did not answer within 3 s")), 3000).unref()),
        ]);
        return { configured: true, url: shown, status };
      } catch (error) {
        return { configured: true, url: shown, error: (error as Error).message };
      }
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
