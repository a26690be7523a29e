import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startDashboardServer } from "../../dashboard/server/server.js";
import { startFleetWorker, type FleetWorkerHandle } from "../../platforms/queue/fleet-worker.js";
import { createLatencyPlatform } from "../../platforms/queue/latency-platform.js";
import { redisServerPath, TestRedis } from "../fleet/helpers.js";
import { ensureDashboardBuilt, launchChromium } from "./browser.js";

/**
 * The fleet panel against a real redis-server and a real fleet worker (the queue platform's latency
 * stand-in, which evaluates nothing): the page lists the worker with its hardware and its queue.
 * Skipped, with the reason in its name, where redis-server is not installed.
 */

const screenshots = resolve(process.env.DASHBOARD_SCREENSHOTS ?? join(".cache", "dashboard-screenshots"));
const withRedis = redisServerPath() ? test : test.skip;

describe("dashboard fleet panel", () => {
  withRedis(`shows the live workers and queues of the fleet${redisServerPath() ? "" : " (skipped: redis-server is not installed)"}`, async () => {
    ensureDashboardBuilt();
    const redis = new TestRedis();
    const runsDirectory = mkdtempSync(join(tmpdir(), "kernelevolve-dashboard-fleet-"));
    let worker: FleetWorkerHandle | undefined;
    let server: Awaited<ReturnType<typeof startDashboardServer>> | undefined;
    let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
    try {
      await redis.start();
      worker = await startFleetWorker({ url: redis.url, platform: createLatencyPlatform({ latencyMs: 50 }), tag: "h100", concurrency: 3, id: "gpu-node-7", heartbeatMs: 300 });
      server = await startDashboardServer({ runsDirectory, distDirectory: "dashboard/dist", port: 0, queueUrl: redis.url });
      const api = (await (await fetch(`${server.url}api/fleet`)).json()) as { configured: boolean; status: { workers: { id: string }[]; queues: { name: string }[] } };
      expect(api.configured).toBe(true);
      expect(api.status.workers.map((item) => item.id)).toEqual(["gpu-node-7"]);
      browser = await launchChromium();
      const page = await browser.context.newPage();
      await page.goto(server.url);
      const fleet = page.locator('[data-testid="fleet"][data-configured="true"]');
      await fleet.locator("td", { hasText: "gpu-node-7" }).waitFor({ timeout: 15000 });
      const text = await fleet.textContent();
      expect(text).toContain("latency:h100");
      expect(text).toContain("latency stand-in");
      expect(text).toContain("0/3");
      mkdirSync(screenshots, { recursive: true });
      await page.screenshot({ path: join(screenshots, "dashboard-fleet.png") });
    } finally {
      await browser?.close();
      await server?.close();
      await worker?.drain();
      await redis.stop();
      rmSync(runsDirectory, { recursive: true, force: true });
    }
  });
});
