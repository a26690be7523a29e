import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { withEvaluationIdentity } from "../../core/evaluation-context.js";
import { loadSpecFile } from "../../core/spec-loader.js";
import type { KernelSpec } from "../../core/spec.js";
import { RunDatabase } from "../../graphs/runs/run-database.js";
import { FleetClient } from "../../platforms/queue/fleet-client.js";
import { createLatencyPlatform } from "../../platforms/queue/latency-platform.js";
import { QueuePlatform } from "../../platforms/queue/queue-platform.js";
import { ROOT, TestRedis, WorkerProcess, latencyWorkerArgs, readJournal, redisServerPath, waitFor } from "./helpers.js";

// Nothing lost, nothing counted twice: real redis-server (append-only, fsync always), real worker
// processes (the latency stand-in: evaluation waits without CPU), real kill -9.
const describeRedis = redisServerPath() ? describe : describe.skip;


const base = loadSpecFile(join(ROOT, "tests", "platforms", "fixtures", "specs", "vector-add.yaml"));
const spec: KernelSpec = { ...base, targets: [...base.targets, "latency"] };
const candidate = (name: string, marker = "") => ({ language: "cpp" as const, source: `// ${name}\n${marker}\nextern "C" void kernel() {}\n` });

/** Each job id's count of one journal event. */
function countBy(journal: string, event: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of readJournal(journal)) if (line.event === event) counts.set(line.jobId, (counts.get(line.jobId) ?? 0) + 1);
  return counts;
}

describeRedis("fleet recovery", () => {
  const redis = new TestRedis();
  const journal = join(redis.dir, "journal.jsonl");
  const workers: WorkerProcess[] = [];
  let client: FleetClient;
  let platform: QueuePlatform;

  const startWorkers = async (count: number, extra: string[] = []) => {
    const started = Array.from({ length: count }, () => new WorkerProcess(latencyWorkerArgs(redis.url, journal, extra)));
    workers.push(...started);
    await Promise.all(started.map((worker) => worker.ready(90_000)));
    return started;
  };
  const alive = () => workers.filter((worker) => worker.child.exitCode === null && worker.child.signalCode === null);

  beforeAll(async () => {
    await redis.start();
    client = new FleetClient({ url: redis.url, pollMs: 300 });
    platform = new QueuePlatform(createLatencyPlatform(), { client, capacityCacheMs: 0 });
    await startWorkers(4);
  }, 150_000);

  afterAll(async () => {
    await Promise.allSettled(workers.map((worker) => worker.stop("SIGKILL")));
    await client?.close();
    await redis.stop();
  });

  test("kill -9 of a worker mid-job: every job completes exactly once, the lost one on another worker", async () => {
    expect(await platform.capacity()).toBe(4);
    const scope = "kill-worker";
    const pending = Array.from({ length: 6 }, (_, index) =>
      withEvaluationIdentity({ scope, candidateId: `c${index}` }, () => platform.evaluate(spec, candidate(`k${index}`, "// latency-ms: 1500"), { sizes: ["tiny"] })),
    );
    // Wait until every worker holds a job, then kill one of them with -9.
    await waitFor(() => readJournal(journal).filter((line) => line.event === "started" && line.jobId.startsWith(`${scope}.`)).length >= 4, 30_000, "4 jobs started");
    const victimLine = readJournal(journal).find((line) => line.event === "started" && line.jobId.startsWith(`${scope}.`))!;
    const victim = workers.find((worker) => worker.pid === victimLine.pid)!;
    await victim.stop("SIGKILL");
    const results = await Promise.all(pending);
    expect(results.map((result) => result.status)).toEqual(Array(6).fill("passed"));
    // A worker journals a completion just after Redis accepted it, so the orchestrator may hear first.
    await waitFor(() => [...countBy(journal, "completed").keys()].filter((id) => id.startsWith(`${scope}.`)).length >= 6, 5000, "6 completions journalled");
    const completed = countBy(journal, "completed");
    const ours = [...completed].filter(([jobId]) => jobId.startsWith(`${scope}.`));
    expect(ours.map(([, count]) => count)).toEqual(Array(6).fill(1));
    // The victim's job was started twice (on the victim, then elsewhere) and completed once, not by the victim.
    const started = countBy(journal, "started");
    expect(started.get(victimLine.jobId)).toBe(2);
    const finisher = readJournal(journal).find((line) => line.event === "completed" && line.jobId === victimLine.jobId)!;
    expect(finisher.pid).not.toBe(victim.pid);
    // The dead worker's registration expires: capacity follows the live workers.
    await waitFor(async () => (await platform.capacity()) === 3, 10_000, "capacity 3 after the kill");
  });

  test("a candidate that keeps killing its workers ends as worker_crash after a bounded number of deaths", async () => {
    const before = alive().length;
    const result = await withEvaluationIdentity({ scope: "crasher", candidateId: "c1" }, () => platform.evaluate(spec, candidate("crash", "// fleet: kill-worker"), { sizes: ["tiny"] }));
    expect({ status: result.status, reason: result.reason, flags: result.flags }).toEqual({ status: "failed", reason: "crash", flags: ["worker_crash"] });
    // maxStalledCount 1 (the default): the first death is retried, the second ends it.
    expect(result.message).toMatch(/^worker_crash: the candidate killed 2 workers/);
    await waitFor(() => alive().length === before - 2, 5000, "two workers dead");
  });

  test("a Redis restart (SIGKILL, append-only file) loses and duplicates nothing", async () => {
    await startWorkers(1); // two live workers from here on
    const scope = "redis-restart";
    const pending = Array.from({ length: 8 }, (_, index) =>
      withEvaluationIdentity({ scope, candidateId: `c${index}` }, () => platform.evaluate(spec, candidate(`r${index}`, "// latency-ms: 400"), { sizes: ["tiny"] })),
    );
    await waitFor(() => readJournal(journal).filter((line) => line.event === "completed" && line.jobId.startsWith(`${scope}.`)).length >= 2, 30_000, "2 jobs completed");
    await redis.kill();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await redis.start();
    const results = await Promise.all(pending);
    expect(results.map((result) => result.status)).toEqual(Array(8).fill("passed"));
    await waitFor(() => [...countBy(journal, "completed").keys()].filter((id) => id.startsWith(`${scope}.`)).length >= 8, 5000, "8 completions journalled");
    // Each result is the one of its own candidate (the stand-in's speed-up depends only on the source).
    const local = createLatencyPlatform({ latencyMs: 0 });
    const expected = await Promise.all(Array.from({ length: 8 }, (_, index) => local.evaluate(spec, candidate(`r${index}`, "// latency-ms: 0"), { sizes: ["tiny"] })));
    expect(results.map((result) => result.speedup)).not.toEqual(expected.map((result) => result.speedup)); // different sources, different hashes
    const completed = [...countBy(journal, "completed")].filter(([jobId]) => jobId.startsWith(`${scope}.`));
    expect(completed.length).toBe(8);
    expect(completed.every(([, count]) => count === 1)).toBe(true);
    const check = new Redis(redis.url);
    try {
      const ids = (await client.queue(platform.queue).getJobs(["completed"], 0, -1)).map((job) => job.id!).filter((id) => id.startsWith(`${scope}.`));
      expect(ids.length).toBe(8);
    } finally {
      check.disconnect();
    }
  });

  test("cancelling removes queued jobs: by abort signal and by run scope", async () => {
    // A tag no worker serves: the jobs stay queued until cancelled.
    // With no live worker a platform keeps one job outstanding (capacity 1), so one platform per job.
    const idle = () => new QueuePlatform(createLatencyPlatform(), { client, tag: "nobody" });
    const queue = client.queue(idle().queue);
    const controller = new AbortController();
    const aborted = withEvaluationIdentity({ scope: "cancel-a", candidateId: "c1" }, () => idle().evaluate(spec, candidate("a1"), { sizes: ["tiny"] }, controller.signal));
    const scoped = [1, 2, 3].map((index) => withEvaluationIdentity({ scope: "cancel-b", candidateId: `c${index}` }, () => idle().evaluate(spec, candidate(`b${index}`), { sizes: ["tiny"] })));
    for (const promise of scoped) promise.catch(() => undefined);
    await waitFor(async () => (await queue.getWaitingCount()) === 4, 10_000, "4 queued jobs");
    controller.abort();
    await expect(aborted).rejects.toThrow(/cancelled/);
    await waitFor(async () => (await queue.getWaitingCount()) === 3, 10_000, "the aborted job removed");
    expect(await idle().cancelScope("cancel-b")).toBe(3);
    for (const promise of scoped) await expect(promise).rejects.toThrow(/cancelled/);
    expect(await queue.getWaitingCount()).toBe(0);
  });

  test("an orchestrator killed with -9 and resumed re-attaches to its jobs: each candidate evaluated and recorded once", async () => {
    const runs = mkdtempSync(join(tmpdir(), "kernelevolve-fleet-runs-"));
    const runId = "fleet-resume-run";
    const orchestrator = (mode: string) => {
      const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "tests", "fleet", "fixtures", "orchestrator.ts"), mode, redis.url, runs, runId, "12"], {
        cwd: ROOT,
        env: { ...process.env, KERNELEVOLVE_LATENCY_MS: "400" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      return { child, output: () => output, exited: new Promise<number | null>((resolve) => child.once("exit", resolve)) };
    };
    try {
      const first = orchestrator("start");
      // Kill it once a few candidates are recorded and more are in the queue.
      // Kill it once a few candidates are recorded and a job of the run is running on a worker.
      const running = () => {
        const lines = readJournal(journal).filter((line) => line.jobId?.startsWith(`${runId}.`));
        const done = new Set(lines.filter((line) => line.event === "completed").map((line) => line.jobId));
        return lines.filter((line) => line.event === "started" && !done.has(line.jobId)).map((line) => line.jobId);
      };
      await waitFor(() => (first.output().match(/candidate-end/g) ?? []).length >= 3 && running().length > 0, 60_000, `3 candidates recorded and one running (output: ${first.output()})`);
      first.child.kill("SIGKILL");
      const inFlight = running();
      await first.exited;
      const killedAt = Date.now();
      const second = orchestrator("resume");
      expect(await second.exited).toBe(0);
      expect(second.output()).toMatch(/run-end completed 12/);

      const db = RunDatabase.open(join(runs, runId));
      const candidates = db.candidates();
      db.close();
      expect(candidates.length).toBe(12);
      expect(candidates.filter((item) => item.status === "pending")).toEqual([]);
      // One job per candidate, started once and completed once: nothing re-submitted, nothing lost.
      const lines = readJournal(journal).filter((line) => line.jobId?.startsWith(`${runId}.`));
      const started = countBy(journal, "started");
      const completed = countBy(journal, "completed");
      const jobIds = [...new Set(lines.map((line) => line.jobId))];
      expect(jobIds.length).toBe(12);
      expect(new Set(jobIds.map((id) => id.split(".")[1]))).toEqual(new Set(candidates.map((item) => item.id)));
      for (const id of jobIds) expect([id, started.get(id), completed.get(id)]).toEqual([id, 1, 1]);
      // Some jobs were queued or running when the orchestrator died, and the resumed one took them over.
      // The jobs running at the kill finished afterwards, once, and their results were recorded.
      expect(inFlight.length).toBeGreaterThan(0);
      for (const id of inFlight) {
        const done = readJournal(journal).find((line) => line.event === "completed" && line.jobId === id) as { time: number } | undefined;
        expect(done && done.time > killedAt - 100).toBe(true);
        expect(candidates.find((item) => item.id === id.split(".")[1])?.status).toBe("passed");
      }
    } finally {
      rmSync(runs, { recursive: true, force: true });
    }
  });

  test("SIGTERM drains a worker: the job in hand completes, then it exits 0 and leaves the fleet", async () => {
    const [worker] = workers.filter((item) => item.child.exitCode === null && item.child.signalCode === null);
    const others = alive().filter((item) => item !== worker);
    await Promise.all(others.map((item) => item.stop("SIGKILL")));
    const pending = withEvaluationIdentity({ scope: "drain", candidateId: "c1" }, () => platform.evaluate(spec, candidate("d1", "// latency-ms: 1500"), { sizes: ["tiny"] }));
    await waitFor(() => readJournal(journal).some((line) => line.event === "started" && line.jobId.startsWith("drain.")), 20_000, "the drain job started");
    worker.child.kill("SIGTERM");
    expect(await worker.exited()).toBe(0);
    expect((await pending).status).toBe("passed");
    expect(worker.output).toMatch(/drained after/);
    expect(await client.workers(platform.queue)).toEqual([]);
  });
});
