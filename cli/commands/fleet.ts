import { z } from "zod";
import { loadProjectConfig } from "../../app/project-config.js";
import { PlatformError, UserError } from "../../core/errors.js";
import { createRedisConnection, parseQueueUrl, redactUrl } from "../../platforms/queue/connection.js";
import { FleetClient } from "../../platforms/queue/fleet-client.js";
import { fleetStatus, type FleetStatus } from "../../platforms/queue/status.js";
import { EXIT_CODES, defineCommand } from "../command.js";
import { COMMON_OPTIONS, option, optionsHelp, parseCommandLine } from "../options.js";

const options = {
  queue: option(z.string().min(1).optional().describe("Redis URL (default: KERNELEVOLVE_QUEUE, or fleet.queue in kernelevolve.config.json)"), "URL"),
  window: option(z.number().int().min(1).default(5).describe("Throughput window in minutes (default 5)"), "MIN", { expects: "a whole number of minutes >= 1" }),
  json: option(COMMON_OPTIONS.json.schema.describe("The same as one JSON object")),
};

const usage = `
Usage: kernelevolve fleet [--queue URL] [--json] [--window MIN]
       kernelevolve fleet cancel <run-id> [--queue URL]

Shows the evaluation fleet: per queue (platform + hardware tag) the jobs waiting, running, delayed
(a retry's back-off), completed and failed, the live workers and their slots, and the throughput
(jobs completed per minute over the last --window minutes); then every live worker with its host,
hardware, tag, jobs in hand and jobs done. 'cancel' removes a run's queued jobs (those not started).

Options:
${optionsHelp(options)}

Exit codes: 0 done, 2 bad usage, 3 Redis unreachable.
`;

function table(rows: string[][]): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column])).join("  ").trimEnd()).join("\n");
}

/** The fleet view as text. */
export function formatFleet(status: FleetStatus, url: string): string {
  const lines = [`fleet at ${redactUrl(url)}: ${status.queues.length} queue(s), ${status.workers.length} live worker(s)`, ""];
  if (status.queues.length) {
    lines.push(
      table([
        ["queue", "waiting", "active", "delayed", "completed", "failed", "workers", "slots", `done/min (${status.windowMinutes} min)`],
        ...status.queues.map((queue) => [queue.name, queue.waiting, queue.active, queue.delayed, queue.completed, queue.failed, queue.workers, queue.slots, queue.completedPerMinute.toFixed(1)].map(String)),
      ]),
      "",
    );
  }
  if (status.workers.length) {
    const now = status.time;
    lines.push(
      table([
        ["worker", "host", "queue", "device", "slots", "active", "done", "failed", "up", "state"],
        ...status.workers.map((worker) => [
          worker.id,
          worker.host,
          worker.queue,
          worker.profile.device,
          String(worker.concurrency),
          String(worker.active),
          String(worker.processed),
          String(worker.failed),
          `${Math.round((now - worker.startedAt) / 1000)}s`,
          worker.draining ? "draining" : "serving",
        ]),
      ]),
    );
  } else {
    lines.push("no live worker (start one: kernelevolve worker --queue URL --platform cpu)");
  }
  return `${lines.join("\n")}\n`;
}

export default defineCommand({
  name: "fleet",
  summary: "Show the evaluation fleet (queues, workers, throughput) or cancel a run's queued jobs",
  usage,
  async run(argv, context) {
    const { values, positionals } = parseCommandLine(argv, options, usage, { expected: "nothing, or 'cancel <run-id>'", min: 0, max: 2 });
    const configured = values.queue ?? context.env.KERNELEVOLVE_QUEUE ?? (await loadProjectConfig({ cwd: context.cwd })).fleet?.queue;
    if (!configured) throw new UserError("bad_usage", `no fleet configured: pass --queue redis://HOST:PORT (or set KERNELEVOLVE_QUEUE)\n${usage.trim()}`);
    const url = parseQueueUrl(configured);
    const window = values.window;

    if (positionals[0] === "cancel") {
      if (positionals.length !== 2) throw new UserError("bad_usage", `fleet cancel expects one run id\n${usage.trim()}`);
      const client = new FleetClient({ url });
      try {
        const removed = await client.cancelScope(positionals[1]);
        context.stdout.write(values.json ? `${JSON.stringify({ run: positionals[1], removed })}\n` : `removed ${removed} queued job(s) of run ${positionals[1]}\n`);
        return EXIT_CODES.ok;
      } finally {
        await client.close();
      }
    }
    if (positionals.length) throw new UserError("bad_usage", `unknown fleet subcommand '${positionals[0]}'\n${usage.trim()}`);

    const redis = createRedisConnection(url, "kernelevolve-fleet-view");
    // One try, not a wait through a restart: the view should say at once that Redis is down.
    redis.options.maxRetriesPerRequest = 1;
    redis.on("error", () => undefined);
    try {
      let status: FleetStatus;
      try {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([redis.ping(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("no answer within 5 s")), 5000)))]);
        } finally {
          clearTimeout(timer);
        }
        status = await fleetStatus(redis, { windowMinutes: window });
      } catch (error) {
        throw new PlatformError("queue_unreachable", `Redis at ${redactUrl(url)} is unreachable: ${(error as Error).message}`);
      }
      context.stdout.write(values.json ? `${JSON.stringify({ queue: redactUrl(url), ...status }, null, 2)}\n` : formatFleet(status, url));
      return EXIT_CODES.ok;
    } finally {
      redis.disconnect();
    }
  },
});
