import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadSpecFile } from "../../core/spec-loader.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EvaluationResult } from "../../core/protocol.js";
import { CPU_PLATFORM, createCpuPlatform, RuntimeClient } from "../../platforms/index.js";
import { FleetClient } from "../../platforms/queue/fleet-client.js";
import { createLatencyPlatform } from "../../platforms/queue/latency-platform.js";
import { QueuePlatform } from "../../platforms/queue/queue-platform.js";
import { describePlatformConformance } from "../conformance/platform-conformance.js";
import { FIXTURES, PYTHON, REAL_RUNTIME_PATH, realRuntimePresent, ROOT, vectorAddSpec } from "../platforms/helpers.js";
import { runCliInProcess } from "../cli/cli-process.js";
import { LATENCY_PLUGIN, TestRedis, WorkerProcess, latencyWorkerArgs, readJournal, redisServerPath, waitFor } from "./helpers.js";

// The queue platform against a real redis-server and real `kernelevolve worker` processes: the
// shared conformance suite unchanged, verdicts identical to the local cpu platform, routing by tag.
const describeFleet = redisServerPath() && realRuntimePresent() ? describe : describe.skip;

const cpp = (file: string) => ({ language: "cpp" as const, source: readFileSync(join(FIXTURES, "kernels", file), "utf8") });
const quick = { trials: 2, warmup: 1, minTimeMs: 10, minRepetitions: 3, sizes: ["tiny"] };

describeFleet("queue platform", () => {
  const redis = new TestRedis();
  const cache = mkdtempSync(join(tmpdir(), "kernelevolve-fleet-cache-"));
  const workers: WorkerProcess[] = [];
  const clients: FleetClient[] = [];
  const makeQueuePlatform = () => {
    const client = new FleetClient({ url: redis.url, pollMs: 500 });
    clients.push(client);
    return new QueuePlatform(CPU_PLATFORM, { client });
  };

  beforeAll(async () => {
    await redis.start();
    const env = { KERNELEVOLVE_CACHE: cache };
    // A cpu worker (the real Python runtime, two jobs at once), and two latency workers, one tagged.
    workers.push(
      new WorkerProcess(["worker", "--queue", redis.url, "--platform", "cpu", "--concurrency", "2", "--id", "cpu-1"], env),
      new WorkerProcess(latencyWorkerArgs(redis.url, join(redis.dir, "journal.jsonl"), ["--id", "plain"]), env),
      new WorkerProcess(latencyWorkerArgs(redis.url, join(redis.dir, "journal.jsonl"), ["--id", "gpu-box", "--tag", "h100"]), env),
    );
    await Promise.all(workers.map((worker) => worker.ready(90_000)));
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled(workers.map((worker) => worker.stop("SIGTERM")));
    await Promise.allSettled(clients.map((client) => client.close()));
    await redis.stop();
    rmSync(cache, { recursive: true, force: true });
  });

  describePlatformConformance("cpu through the fleet queue", makeQueuePlatform, {
    spec: vectorAddSpec(),
    correct: cpp("vector-add-correct.cpp"),
    wrong: cpp("vector-add-wrong.cpp"),
    compileError: cpp("vector-add-compile-error.cpp"),
    options: quick,
    peakConcurrency: (platform) => platform.peakConcurrency,
    timeoutMs: 180_000,
  });

  test("verdicts are identical to the local cpu platform's on the same candidates", async () => {
    const local = createCpuPlatform({ client: new RuntimeClient({ python: PYTHON, pythonPath: REAL_RUNTIME_PATH, cwd: ROOT, compileCacheDirectory: cache }) });
    const queued = makeQueuePlatform();
    // Everything but what changes from one evaluation to the next on the same machine: durations,
    // compile-cache state, absolute paths, and the values of the fresh random inputs each evaluation draws.
    const numbers = (text: string) => text.replace(/-?\d+(\.\d+)?(e[-+]?\d+)?/gi, "#");
    const comparable = (result: EvaluationResult) => {
      const { durations: _durations, compile: _compile, log, trials, mismatch, message, ...rest } = result;
      return {
        ...rest,
        message: numbers(message),
        log: numbers(log.replace(/\/[^\s:]*\//g, "/…/")),
        trials: trials.map((trial) => ({ size: trial.size, passed: trial.passed, reason: trial.reason })),
        mismatch: mismatch && { size: mismatch.size, output: mismatch.output, total: mismatch.total },
      };
    };
    try {
      for (const file of ["vector-add-correct.cpp", "vector-add-wrong.cpp", "vector-add-compile-error.cpp"]) {
        const options = { ...quick, timing: false };
        const [here, there] = [await local.evaluate(vectorAddSpec(), cpp(file), options), await queued.evaluate(vectorAddSpec(), cpp(file), options)];
        expect({ file, ...comparable(there) }).toEqual({ file, ...comparable(here) });
      }
      const profile = await queued.hardwareProfile();
      expect(profile.device).toBe((await local.hardwareProfile()).device);
      expect(profile.notes.join(" ")).toMatch(/evaluated by 1 fleet worker\(s\) on queue eval\.cpu\.any: cpu-1@/);
    } finally {
      await local.close();
    }
  }, 180_000);

  test("a hardware tag routes jobs only to the workers serving it; capacity counts those", async () => {
    const client = new FleetClient({ url: redis.url, pollMs: 500 });
    clients.push(client);
    const spec = { ...vectorAddSpec(), targets: ["cpu", "latency"] };
    const tagged = new QueuePlatform(createLatencyPlatform(), { client, tag: "h100" });
    const plain = new QueuePlatform(createLatencyPlatform(), { client });
    const lonely = new QueuePlatform(createLatencyPlatform(), { client, tag: "a100" });
    expect([await tagged.capacity(), await plain.capacity()]).toEqual([1, 1]);
    expect(await lonely.availability()).toEqual({ available: false, reason: expect.stringMatching(/no live worker serves queue eval\.latency\.a100.*--tag a100/) });
    for (let index = 0; index < 3; index++) {
      await tagged.evaluate(spec, { language: "cpp", source: `// t${index}` }, { sizes: ["tiny"] });
      await plain.evaluate(spec, { language: "cpp", source: `// p${index}` }, { sizes: ["tiny"] });
    }
    expect(new Set(tagged.evaluatedBy.values())).toEqual(new Set(["gpu-box"]));
    expect(new Set(plain.evaluatedBy.values())).toEqual(new Set(["plain"]));
    expect((await tagged.hardwareProfile()).notes.join(" ")).toMatch(/gpu-box@/);
  }, 60_000);

  test("kernelevolve campaign over two specs through the fleet: one table, each candidate one job; resume re-runs nothing", async () => {
    const runs = mkdtempSync(join(tmpdir(), "kernelevolve-campaign-"));
    try {
      // Seed specs that also target the latency stand-in (the cpu seeds and templates apply: same language).
      const files = ["layernorm", "gelu"].map((id) => {
        const spec = loadSpecFile(join(ROOT, "seeds", "specs", `${id}.yaml`));
        const path = join(runs, `${id}.json`);
        writeFileSync(path, JSON.stringify({ ...spec, targets: [...spec.targets, "latency"] }));
        return path;
      });
      const env = { KERNELEVOLVE_RUNS: runs, KERNELEVOLVE_CACHE: cache };
      const args = ["--plugin", LATENCY_PLUGIN, "campaign", "start", "ci", "--spec", files[0], "--spec", files[1], "--platform", "latency", "--budget", "6", "--size", "small", "--queue", redis.url, "--json"];
      const first = await runCliInProcess(args, env);
      expect({ status: first.status, stderr: first.stderr }).toEqual({ status: 0, stderr: "" });
      const end = JSON.parse(first.stdout.trim().split("\n").at(-1)!);
      expect(end).toMatchObject({ type: "campaign-end", campaign: "ci", interrupted: false, score: { problems: 2, correct: 2, correctnessRate: 1 } });
      expect(end.members.map((member: { specId: string; status: string; candidates: number }) => [member.specId, member.status, member.candidates])).toEqual([
        ["layernorm", "completed", 3],
        ["gelu", "completed", 3],
      ]);
      const report = readFileSync(join(runs, "campaigns", "ci", "report.md"), "utf8");
      expect(report).toMatch(/\| searches \| correct \| correctness rate \| fast_0 \| fast_1 \| fast_1\.5 \| fast_2 \| geomean/);
      expect(report).toMatch(/\| layernorm \| completed/);
      // Every candidate of both runs was one job of the latency queue, completed once.
      const client = new FleetClient({ url: redis.url });
      clients.push(client);
      const jobs = (await client.queue("eval.latency.any").getJobs(["completed"], 0, -1)).filter((job) => job.id!.startsWith("ci--"));
      expect(jobs.map((job) => job.id!.split(".").slice(0, 2).join(".")).sort()).toEqual(
        ["ci--gelu.c0001", "ci--gelu.c0002", "ci--gelu.c0003", "ci--layernorm.c0001", "ci--layernorm.c0002", "ci--layernorm.c0003"],
      );
      const again = await runCliInProcess(["--plugin", LATENCY_PLUGIN, "campaign", "resume", "ci", "--json"], env);
      expect(again.status).toBe(0);
      expect(again.stdout).not.toMatch(/member-start/);
      expect(JSON.parse(again.stdout.trim().split("\n").at(-1)!).score).toEqual(end.score);
    } finally {
      rmSync(runs, { recursive: true, force: true });
    }
  }, 120_000);

  test("a campaign killed with -9 mid-way resumes: finished searches kept, the rest continued, each candidate one job started once", async () => {
    const runs = mkdtempSync(join(tmpdir(), "kernelevolve-campaign-kill-"));
    try {
      const files = ["rmsnorm", "row-softmax", "row-sum-squares"].map((id) => {
        const spec = loadSpecFile(join(ROOT, "seeds", "specs", `${id}.yaml`));
        const path = join(runs, `${id}.json`);
        writeFileSync(path, JSON.stringify({ ...spec, targets: [...spec.targets, "latency"] }));
        return path;
      });
      const env = { KERNELEVOLVE_RUNS: runs, KERNELEVOLVE_CACHE: cache };
      const args = ["--plugin", LATENCY_PLUGIN, "campaign", "start", "kc", ...files.flatMap((file) => ["--spec", file]), "--platform", "latency", "--budget", "12", "--parallel", "1", "--size", "small", "--queue", redis.url, "--json"];
      const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "cli", "main.ts"), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise((resolve) => child.once("exit", resolve));
      await waitFor(() => /"member-end"/.test(output), 90_000, `the first search to end (output: ${output})`);
      child.kill("SIGKILL");
      await exited;
      const resumed = await runCliInProcess(["--plugin", LATENCY_PLUGIN, "campaign", "resume", "kc", "--json"], env);
      expect({ status: resumed.status, stderr: resumed.stderr }).toEqual({ status: 0, stderr: "" });
      expect(resumed.stdout).not.toMatch(/"member-start"[^\n]*"specId":"rmsnorm"/);
      const end = JSON.parse(resumed.stdout.trim().split("\n").at(-1)!);
      expect(end.members.map((member: { specId: string; status: string; candidates: number }) => [member.specId, member.status, member.candidates])).toEqual([
        ["rmsnorm", "completed", 4],
        ["row-softmax", "completed", 4],
        ["row-sum-squares", "completed", 4],
      ]);
      const client = new FleetClient({ url: redis.url });
      clients.push(client);
      const ids = (await client.queue("eval.latency.any").getJobs(["completed"], 0, -1)).map((job) => job.id!).filter((id) => id.startsWith("kc--"));
      expect(ids.length).toBe(12);
      expect(new Set(ids.map((id) => id.split(".").slice(0, 2).join("."))).size).toBe(12);
      const started = readJournal(join(redis.dir, "journal.jsonl")).filter((line) => line.event === "started" && line.jobId.startsWith("kc--"));
      expect(started.length).toBe(12);
    } finally {
      rmSync(runs, { recursive: true, force: true });
    }
  }, 180_000);

  test("kernelevolve fleet --json lists queues, workers with hardware and tags, and throughput", async () => {
    const client = new FleetClient({ url: redis.url });
    clients.push(client);
    const plain = new QueuePlatform(createLatencyPlatform(), { client });
    const spec = { ...vectorAddSpec(), targets: ["cpu", "latency"] };
    for (const index of [1, 2]) await plain.evaluate(spec, { language: "cpp", source: `// view ${index}` }, { sizes: ["tiny"] });
    const view = await runCliInProcess(["fleet", "--queue", redis.url, "--json"]);
    expect(view.status).toBe(0);
    const status = JSON.parse(view.stdout);
    const queue = (name: string) => status.queues.find((item: { name: string }) => item.name === name);
    expect(queue("eval.cpu.any")).toMatchObject({ platform: "cpu", tag: "any", workers: 1, slots: 2, waiting: 0, active: 0 });
    expect(queue("eval.latency.any")).toMatchObject({ workers: 1, slots: 1, waiting: 0 });
    expect(queue("eval.latency.any").completed).toBeGreaterThanOrEqual(2);
    expect(queue("eval.latency.any").completedPerMinute).toBeGreaterThan(0);
    expect(queue("eval.latency.h100")).toMatchObject({ workers: 1, slots: 1 });
    expect(status.workers.map((worker: { id: string; tag: string }) => [worker.id, worker.tag])).toEqual([
      ["cpu-1", "any"],
      ["gpu-box", "h100"],
      ["plain", "any"],
    ]);
    expect(status.workers[0].profile.device.length).toBeGreaterThan(0);
    const text = await runCliInProcess(["fleet", "--queue", redis.url]);
    expect(text.stdout).toMatch(/eval\.latency\.h100/);
    expect(text.stdout).toMatch(/gpu-box .*eval\.latency\.h100 .*latency stand-in/);
    const down = await runCliInProcess(["fleet", "--queue", "redis://127.0.0.1:1"]);
    expect({ status: down.status, stderr: down.stderr }).toEqual({ status: 3, stderr: expect.stringMatching(/unreachable/) });
    const bad = await runCliInProcess(["worker", "--platform", "cpu"]);
    expect({ status: bad.status, stderr: bad.stderr }).toEqual({ status: 2, stderr: expect.stringMatching(/--queue is required/) });
  }, 60_000);
});
