import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { repositoryRoot } from "../helpers/paths.js";

/** Shared by the fleet tests: a real redis-server on a free port in a temp folder, and worker processes. */
export const ROOT = repositoryRoot;
export const LATENCY_PLUGIN = join(ROOT, "bench", "fleet-latency-plugin.ts");

export function redisServerPath(): string | undefined {
  const found = spawnSync("bash", ["-c", "command -v redis-server"], { encoding: "utf8" }).stdout.trim();
  return found || (existsSync("/usr/bin/redis-server") ? "/usr/bin/redis-server" : undefined);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** A redis-server with append-only persistence (fsync always), started and restarted by a test. */
export class TestRedis {
  readonly dir = mkdtempSync(join(tmpdir(), "kernelevolve-redis-"));
  port = 0;
  private child?: ChildProcess;

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const binary = redisServerPath();
    if (!binary) throw new Error("redis-server is not installed (bash scripts/setup.sh installs the Debian package)");
    if (!this.port) this.port = await freePort();
    this.child = spawn(
      binary,
      ["--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir, "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--protected-mode", "no", "--daemonize", "no", "--logfile", join(this.dir, "redis.log")],
      { stdio: "ignore" },
    );
    await waitFor(async () => {
      const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on("error", () => undefined);
      try {
        await probe.connect();
        return (await probe.ping()) === "PONG";
      } catch {
        return false;
      } finally {
        probe.disconnect();
      }
    }, 10_000, `redis-server on port ${this.port}`);
  }

  /** SIGKILL: no shutdown save; only the append-only file survives. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A `kernelevolve worker` child process. */
export class WorkerProcess {
  readonly child: ChildProcess;
  output = "";
  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "cli", "main.ts"), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child.stdout!.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
    this.child.stderr!.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
  }

  get pid(): number {
    return this.child.pid!;
  }

  async ready(timeoutMs = 60_000): Promise<void> {
    await waitFor(() => {
      if (this.child.exitCode !== null) throw new Error(`worker exited with ${this.child.exitCode}:\n${this.output}`);
      return /serves eval\./.test(this.output);
    }, timeoutMs, `a worker to start (output so far: ${this.output})`);
  }

  exited(): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve(this.child.exitCode);
    return new Promise((resolve) => this.child.once("exit", (code) => resolve(code)));
  }

  async stop(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const done = this.exited();
    this.child.kill(signal);
    await done;
  }
}

/** Arguments of a latency worker with short locks and stall checks (dead workers are noticed within ~2 s). */
export function latencyWorkerArgs(url: string, journal: string, extra: string[] = []): string[] {
  return ["--plugin", LATENCY_PLUGIN, "worker", "--queue", url, "--platform", "latency", "--lock-ms", "1500", "--stalled-ms", "500", "--heartbeat-ms", "300", "--journal", journal, ...extra];
}

/** Journal lines (one JSON object per job event) written by the workers. */
export function readJournal(path: string): { event: string; jobId: string; worker: string; pid: number }[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line));
}

export { appendFileSync, waitFor };
