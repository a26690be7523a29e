/**
 * Fleet throughput: candidates per minute through BullMQ on a local redis-server with 1, 4, 16 and
 * 64 workers, on a latency-bound evaluator (the latency stand-in: each evaluation waits --latency-ms
 * without using the CPU, like a remote GPU would), against linear scaling; and the orchestration
 * overhead per job (slot time beyond the evaluation itself: queueing, Redis round trips, events).
 *
 *   npm run bench:fleet -- [--workers 1,4,16,64] [--latency-ms 500] [--jobs-per-worker 10] [--json]
 *
 * Needs redis-server (Debian package; scripts/setup.sh installs it). Workers run 16 to a process.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { withEvaluationIdentity } from "../core/evaluation-context.js";
import { loadSpecFile } from "../core/spec-loader.js";
import { FleetClient } from "../platforms/queue/fleet-client.js";
import { createLatencyPlatform } from "../platforms/queue/latency-platform.js";
import { QueuePlatform } from "../platforms/queue/queue-platform.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    workers: { type: "string", default: "1,4,16,64" },
    "latency-ms": { type: "string", default: "500" },
    "jobs-per-worker": { type: "string", default: "10" },
    json: { type: "boolean", default: false },
  },
});
const counts = values.workers!.split(",").map(Number);
const latencyMs = Number(values["latency-ms"]);
const jobsPerWorker = Number(values["jobs-per-worker"]);
if (counts.some((count) => !Number.isInteger(count) || count < 1) || !(latencyMs > 0) || !(jobsPerWorker >= 1)) {
  console.error("usage: npm run bench:fleet -- [--workers 1,4,16,64] [--latency-ms 500] [--jobs-per-worker 10] [--json]");
  process.exit(2);
}
const PER_PROCESS = 16;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function startRedis(dir: string): Promise<{ url: string; child: ChildProcess }> {
  const binary = spawnSync("bash", ["-c", "command -v redis-server"], { encoding: "utf8" }).stdout.trim();
  if (!binary) {
    console.error("redis-server is not installed (bash scripts/setup.sh, or apt-get install redis-server)");
    process.exit(3);
  }
  const port = await freePort();
  // The persistence a fleet should run with: append-only, fsync every second.
  const child = spawn(binary, ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""], { stdio: "ignore" });
  const url = `redis://127.0.0.1:${port}`;
  for (let tries = 0; tries < 200; tries++) {
    if (spawnSync("redis-cli", ["-p", String(port), "ping"], { encoding: "utf8" }).stdout?.trim() === "PONG") return { url, child };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("redis-server did not start");
}

function startHosts(url: string, workers: number): Promise<ChildProcess[]> {
  const hosts: Promise<ChildProcess>[] = [];
  for (let host = 0, left = workers; left > 0; host++, left -= PER_PROCESS) {
    const count = Math.min(PER_PROCESS, left);
    hosts.push(
      new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ["--import", "tsx", join(root, "bench", "fleet-worker-host.ts"), url, String(count), String(latencyMs), String(host)], { cwd: root, stdio: ["pipe", "pipe", "inherit"] });
        child.stdout!.on("data", (chunk: Buffer) => {
          if (chunk.toString().includes("ready")) resolve(child);
        });
        child.once("exit", (code) => reject(new Error(`worker host exited with ${code}`)));
      }),
    );
  }
  return Promise.all(hosts);
}

async function stopHosts(hosts: ChildProcess[]): Promise<void> {
  await Promise.all(hosts.map((child) => new Promise((resolve) => {
    child.removeAllListeners("exit");
    child.once("exit", resolve);
    child.kill("SIGTERM");
  })));
}

interface Row {
  workers: number;
  jobs: number;
  wallSeconds: number;
  perMinute: number;
  linearPerMinute: number;
  ratioToLinear: number;
  overheadMsPerJob: number;
  /** CPU time per job of the orchestrator process and of the worker processes (load-independent costs). */
  orchestratorCpuMsPerJob: number;
  workerCpuMsPerJob: number;
  /** Redis work per job over the timed round (heartbeats and polls included): commands executed
   * (Redis 7 counts those inside Lua scripts), network bytes in and out, the memory of one kept (completed) job. */
  redis: { commandsPerJob: number; bytesInPerJob: number; bytesOutPerJob: number; memoryPerKeptJob: number; commandsPerJobByName: Record<string, number> };
}

/** Redis's own counters: client commands, commands including those inside Lua scripts, network bytes, memory. */
async function redisCounters(url: string): Promise<{ byCommand: Record<string, number>; commands: number; allCommands: number; bytesIn: number; bytesOut: number; memory: number; keys: number }> {
  const redis = new Redis(url);
  try {
    const info = await redis.info();
    const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, "m").exec(info)?.[1] ?? 0);
    const stats = await redis.info("commandstats");
    const byCommand: Record<string, number> = {};
    for (const match of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) byCommand[match[1]] = Number(match[2]);
    const allCommands = Object.values(byCommand).reduce((sum, value) => sum + value, 0);
    return { byCommand, commands: field("total_commands_processed"), allCommands, bytesIn: field("total_net_input_bytes"), bytesOut: field("total_net_output_bytes"), memory: field("used_memory"), keys: await redis.dbsize() };
  } finally {
    redis.disconnect();
  }
}

/** A worker host's CPU time so far (ms), asked over its stdin/stdout. */
function hostCpu(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const onData = (chunk: Buffer) => {
      const match = /cpu (\d+(?:\.\d+)?)/.exec(chunk.toString());
      if (!match) return;
      child.stdout!.off("data", onData);
      resolve(Number(match[1]));
    };
    child.stdout!.on("data", onData);
    child.stdin!.write("cpu\n");
  });
}

const base = loadSpecFile(join(root, "seeds", "specs", "layernorm.yaml"));
const spec = { ...base, targets: [...base.targets, "latency"] };
const dir = mkdtempSync(join(tmpdir(), "kernelevolve-bench-fleet-"));
const redis = await startRedis(dir);
const rows: Row[] = [];
try {
  for (const workers of counts) {
    const hosts = await startHosts(redis.url, workers);
    const client = new FleetClient({ url: redis.url });
    const platform = new QueuePlatform(createLatencyPlatform({ latencyMs }), { client });
    try {
      while ((await platform.liveWorkers(true)).length < workers) await new Promise((resolve) => setTimeout(resolve, 100));
      // One untimed round first: connections, event listeners and each worker's first fetch.
      await Promise.all(Array.from({ length: workers }, (_, index) => platform.evaluate(spec, { language: "cpp", source: `// warm-up ${workers} ${index} latency-ms: 1` }, { sizes: ["small"] })));
      const jobs = workers * jobsPerWorker;
      const hostCpuBefore = await Promise.all(hosts.map(hostCpu));
      const countersBefore = await redisCounters(redis.url);
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      await Promise.all(
        Array.from({ length: jobs }, (_, index) =>
          withEvaluationIdentity({ scope: `bench-${workers}`, candidateId: `c${index}` }, () => platform.evaluate(spec, { language: "cpp", source: `// bench ${workers} ${index}` }, { sizes: ["small"] })),
        ),
      );
      const wallSeconds = (performance.now() - started) / 1000;
      const cpu = process.cpuUsage(cpuBefore);
      const hostCpuAfter = await Promise.all(hosts.map(hostCpu));
      const workerCpuMs = hostCpuAfter.reduce((sum, value, index) => sum + value - hostCpuBefore[index], 0);
      const countersAfter = await redisCounters(redis.url);
      const per = (key: Exclude<keyof typeof countersAfter, "byCommand">) => (countersAfter[key] - countersBefore[key]) / jobs;
      const topCommands = Object.fromEntries(
        Object.entries(countersAfter.byCommand)
          .map(([name, calls]) => [name, Number(((calls - (countersBefore.byCommand[name] ?? 0)) / jobs).toFixed(2))] as const)
          .filter(([, calls]) => calls >= 0.5)
          .sort((a, b) => b[1] - a[1]),
      );
      // What one kept (completed) job costs in memory: its hash, sampled.
      const sample = await client.queue(platform.queue).getJobs(["completed"], 0, 0);
      const probe = new Redis(redis.url);
      const memoryPerKeptJob = sample[0] ? Number(await probe.call("MEMORY", "USAGE", `kernelevolve:${platform.queue}:${sample[0].id}`)) : 0;
      probe.disconnect();
      const perMinute = (jobs / wallSeconds) * 60;
      const linearPerMinute = workers * (60_000 / latencyMs);
      rows.push({
        workers,
        jobs,
        wallSeconds,
        perMinute,
        linearPerMinute,
        ratioToLinear: perMinute / linearPerMinute,
        overheadMsPerJob: (wallSeconds * 1000 * workers) / jobs - latencyMs,
        orchestratorCpuMsPerJob: (cpu.user + cpu.system) / 1000 / jobs,
        workerCpuMsPerJob: workerCpuMs / jobs,
        redis: { commandsPerJob: per("commands"), bytesInPerJob: per("bytesIn"), bytesOutPerJob: per("bytesOut"), memoryPerKeptJob, commandsPerJobByName: topCommands },
      });
    } finally {
      await client.close();
      await stopHosts(hosts);
    }
  }
} finally {
  redis.child.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}

const machine = `${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${loadavg()[0].toFixed(1)}, Node ${process.version}, ${spawnSync("redis-server", ["--version"], { encoding: "utf8" }).stdout.trim().split(" ").slice(0, 3).join(" ")}`;
mkdirSync(join(root, ".cache"), { recursive: true });
writeFileSync(join(root, ".cache", "bench-fleet.json"), `${JSON.stringify({ latencyMs, jobsPerWorker, machine, rows }, null, 2)}\n`);
if (values.json) {
  console.log(JSON.stringify({ latencyMs, jobsPerWorker, machine, rows }, null, 2));
} else {
  console.log(`bench:fleet: latency stand-in ${latencyMs} ms per evaluation, ${jobsPerWorker} jobs per worker; ${machine}`);
  console.log("");
  console.log("| workers | jobs | wall (s) | candidates/min | linear | ratio to linear | overhead per job (ms of a slot) | orchestrator CPU per job (ms) | worker CPU per job (ms) |");
  console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const row of rows) {
    console.log(`| ${row.workers} | ${row.jobs} | ${row.wallSeconds.toFixed(2)} | ${row.perMinute.toFixed(0)} | ${row.linearPerMinute.toFixed(0)} | ${(row.ratioToLinear * 100).toFixed(1)}% | ${row.overheadMsPerJob.toFixed(1)} | ${row.orchestratorCpuMsPerJob.toFixed(2)} | ${row.workerCpuMsPerJob.toFixed(2)} |`);
  }
  console.log("");
  console.log("| workers | Redis commands per job (inside scripts too) | script calls per job | blocking reads per job | bytes in per job | bytes out per job | memory per kept job (bytes) |");
  console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const row of rows) {
    const r = row.redis;
    const calls = (name: string) => (r.commandsPerJobByName[name] ?? 0).toFixed(1);
    console.log(`| ${row.workers} | ${r.commandsPerJob.toFixed(1)} | ${calls("evalsha")} | ${((r.commandsPerJobByName.bzpopmin ?? 0) + (r.commandsPerJobByName.xread ?? 0)).toFixed(1)} | ${r.bytesInPerJob.toFixed(0)} | ${r.bytesOutPerJob.toFixed(0)} | ${r.memoryPerKeptJob.toFixed(0)} |`);
  }
  const worst = Math.min(...rows.map((row) => row.ratioToLinear));
  console.log(`\ngoal (within 10% of linear at every size): ${worst >= 0.9 ? "met" : "NOT met"} (worst ${(worst * 100).toFixed(1)}%)`);
}
