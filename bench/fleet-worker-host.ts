/**
 * One process hosting several fleet workers for bench:fleet (each a BullMQ Worker with its own Redis
 * connections, registration and heartbeat, concurrency 1, serving the latency stand-in):
 *   tsx bench/fleet-worker-host.ts <redis-url> <workers> <latency-ms> <host-index>
 * Hosting 16 workers per process keeps 64 workers within a small machine's memory; each still
 * competes for jobs on its own. SIGTERM drains them all.
 */
import { startFleetWorker } from "../platforms/queue/fleet-worker.js";
import { createLatencyPlatform } from "../platforms/queue/latency-platform.js";

const [url, count, latency, host] = process.argv.slice(2);
const platform = createLatencyPlatform({ latencyMs: Number(latency) });
const handles = await Promise.all(
  Array.from({ length: Number(count) }, (_, index) => startFleetWorker({ url, platform, concurrency: 1, id: `bench-h${host}-w${index}`, heartbeatMs: 1000 })),
);
process.stdout.write(`ready ${handles.length}\n`);
// "cpu" on stdin: answers this process's CPU time so far (ms), for the bench's per-job cost.
process.stdin.setEncoding("utf8");
process.stdin.on("data", (text: string) => {
  if (!text.includes("cpu")) return;
  const usage = process.cpuUsage();
  process.stdout.write(`cpu ${(usage.user + usage.system) / 1000}\n`);
});
process.on("SIGTERM", () => {
  void Promise.all(handles.map((handle) => handle.drain())).then(() => process.exit(0));
});
