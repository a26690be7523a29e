import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EvaluationResult } from "../../core/protocol.js";
import { CPU_PLATFORM, createCpuPlatform, RuntimeClient } from "../../platforms/index.js";
import { FleetClient } from "../../platforms/queue/fleet-client.js";
import { createLatencyPlatform } from "../../platforms/queue/latency-platform.js";
import { QueuePlatform } from "../../platforms/queue/queue-platform.js";
import { describePlatformConformance } from "../conformance/platform-conformance.js";
import { FIXTURES, PYTHON, REAL_RUNTIME_PATH, realRuntimePresent, ROOT, vectorAddSpec } from "../platforms/helpers.js";
import { TestRedis, WorkerProcess, latencyWorkerArgs, redisServerPath } from "./helpers.js";

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
    // Two cpu workers (the real Python runtime, one job each), and two latency workers, one tagged.
    workers.push(
      new WorkerProcess(["worker", "--queue", redis.url, "--platform", "cpu", "--concurrency", "1", "--id", "cpu-1"], env),
      new WorkerProcess(["worker", "--queue", redis.url, "--platform", "cpu", "--concurrency", "1", "--id", "cpu-2"], env),
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
      expect(profile.notes.join(" ")).toMatch(/cpu-1@.*cpu-2@|cpu-2@.*cpu-1@/);
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
});
