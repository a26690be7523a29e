import { afterAll, describe, expect, it } from "@jest/globals";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Operator } from "../../core/types.js";
import { optimize, resumeRun, RunDatabase, streamEvents, type OptimizeEvent } from "../../graphs/index.js";
import { builtinPolicy, engineParts } from "../helpers/engine-parts.js";
import { BASELINE, FAKE_SPEC, FakePlatform, fakeSeeds, fakeSpeedup } from "./fake-platform.js";

const root = mkdtempSync(join(tmpdir(), "kernelevolve-optimize-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function openRun(folder: string) {
  const db = RunDatabase.open(folder);
  const candidates = db.candidates();
  const run = db.run();
  const events = db.events();
  db.close();
  return { candidates, run, events };
}

describe("optimize (evolve graph on a fake platform)", () => {
  it("evaluates the seeds, evolves with autotune and stops at the candidate budget", async () => {
    const events: OptimizeEvent[] = [];
    const platform = new FakePlatform({ capacity: 2 });
    const result = await optimize({ spec: FAKE_SPEC, platform, ...engineParts(fakeSeeds()), seeds: fakeSeeds(), runsDirectory: root, budget: { candidates: 20 }, seed: 1, onEvent: (event) => events.push(event) });
    expect(result.status).toBe("completed");
    expect(result.reason).toBe("budget");
    const { candidates, run } = openRun(result.folder);
    expect(candidates).toHaveLength(20);
    expect(candidates.every((candidate) => candidate.status !== "pending" && candidate.evaluationCount === 1)).toBe(true);
    // Generation 0: the baseline as written and the template's default instance.
    const seeds = candidates.filter((candidate) => candidate.generation === 0);
    expect(seeds.map((seed) => seed.strategy)).toEqual(["seed: baseline", "seed: template (default instance)"]);
    expect(seeds[0].source).toBe(BASELINE);
    expect(seeds[1].params).toEqual({ BLOCK: "8", UNROLL: "1", SCHEDULE: "dynamic" });
    // Fitness is the speed-up when correct, 0 when not.
    for (const candidate of candidates) {
      const expected = fakeSpeedup(candidate.source);
      expect(candidate.fitness).toBeCloseTo(expected === "wrong" ? 0 : expected, 10);
    }
    expect(new Set(candidates.map((candidate) => candidate.sourceHash)).size).toBe(20);
    expect(candidates.filter((candidate) => candidate.generation > 0).every((candidate) => candidate.parentIds.length > 0 && candidate.operator === "autotune")).toBe(true);
    const best = Math.max(...candidates.map((candidate) => candidate.fitness));
    expect(best).toBeGreaterThan(seeds[1].fitness + 0.5);
    expect(run.bestFitness).toBe(best);
    expect(result.best?.fitness).toBe(best);
    for (const candidate of candidates) expect(readFileSync(join(result.folder, candidate.kernelPath), "utf8")).toBe(candidate.source);
    // Events: run-start first, run-end last, every candidate starts and ends once, best-improved is monotone.
    expect(events[0].type).toBe("run-start");
    expect(events.at(-1)!.type).toBe("run-end");
    for (const type of ["candidate-start", "candidate-end"] as const) {
      expect(events.filter((event) => event.type === type).map((event) => (event as { candidateId: string }).candidateId).sort()).toEqual(candidates.map((candidate) => candidate.id).sort());
    }
    const improvements = events.filter((event) => event.type === "best-improved").map((event) => (event as { fitness: number }).fitness);
    expect(improvements.length).toBeGreaterThan(1);
    expect([...improvements].sort((a, b) => a - b)).toEqual(improvements);
    expect(events.at(-1)!.progress.evaluated).toBe(20);
    expect(existsSync(join(result.folder, "checkpoints.sqlite"))).toBe(true);
  });

  it("evaluates a generation concurrently, never above the platform's capacity", async () => {
    const platform = new FakePlatform({ capacity: 3, delayMs: 20 });
    await optimize({ spec: FAKE_SPEC, platform, ...engineParts(fakeSeeds()), seeds: fakeSeeds(), runsDirectory: root, budget: { candidates: 14 }, generationSize: 6 });
    expect(platform.maxInFlight).toBe(3);
    const limited = new FakePlatform({ capacity: 3, delayMs: 20 });
    await optimize({ spec: FAKE_SPEC, platform: limited, ...engineParts(fakeSeeds()), seeds: fakeSeeds(), runsDirectory: root, budget: { candidates: 8 }, generationSize: 6, concurrency: 1 });
    expect(limited.maxInFlight).toBe(1);
  });

  it("stops at the target speed-up, on stagnation, on an exhausted space and on the time budget", async () => {
    const target = await optimize({ spec: FAKE_SPEC, platform: new FakePlatform(), ...engineParts(fakeSeeds()), seeds: fakeSeeds(), runsDirectory: root, budget: { candidates: 200 }, target: 1.5, seed: 2 });
    expect(target.reason).toBe("target");
    expect(target.best!.fitness).toBeGreaterThanOrEqual(1.5);
    expect(target.totals.candidates).toBeLessThan(200);

    const tiny = "// kernelevolve:template\n// param BLOCK: 32, 64\n// param UNROLL: 2, 4\n// param SCHEDULE: static\nvoid k() { /* {{BLOCK}} {{UNROLL}} {{SCHEDULE}} */ }\n";
    const exhausted = await optimize({ spec: FAKE_SPEC, platform: new FakePlatform(), ...engineParts(fakeSeeds(tiny)), seeds: fakeSeeds(tiny), runsDirectory: root, budget: { candidates: 100 }, stagnationGenerations: 50 });
    expect(exhausted.reason).toBe("exhausted: the operator proposed no candidate (the autotune operator proposes none once no untried parameter setting is left near its parents)");
    expect(exhausted.totals.candidates).toBe(1 + 4); // the baseline and all four instances

    const flat: Operator = {
      id: "flat",
      description: "proposes baseline variants that never improve",
      async propose(context) {
        return Array.from({ length: context.count }, (_, index) => ({
          source: `${BASELINE}// variant ${context.generation}-${index}\n`,
          language: "cpp" as const,
          parentIds: context.parents.map((parent) => parent.id),
          tokens: { input: 100, output: 50 },
          costUsd: 0.01,
        }));
      },
    };
    const stagnated = await optimize({ spec: FAKE_SPEC, platform: new FakePlatform(), operator: flat, policy: builtinPolicy(), seeds: fakeSeeds(), runsDirectory: root, budget: { candidates: 500 }, stagnationGenerations: 3, generationSize: 2 });
    expect(stagnated.reason).toBe("stagnation");
    expect(stagnated.totals.candidates).toBe(2 + 3 * 2);
    const tokens = await optimize({ spec: FAKE_SPEC, platform: new FakePlatform(), operator: flat, policy: builtinPolicy(), seeds: fakeSeeds(), runsDirectory: root, budget: { candidates: 500, tokens: 1000 }, generationSize: 2 });
    expect(tokens.reason).toBe("tokens");
    expect(tokens.totals.tokensInput + tokens.totals.tokensOutput).toBe(1200); // 900 tokens after three generations of two proposals, so a fourth runs
    const cost = await optimize({ spec: FAKE_SPEC, platform: new FakePlatform(), operator: flat, policy: builtinPolicy(), seeds: fakeSeeds(), runsDirectory: root, budget: { candidates: 500, costUsd: 0.035 }, generationSize: 2 });
    expect(cost.reason).toBe("cost");
    const timed = await optimize({ spec: FAKE_SPEC, platform: new FakePlatform({ delayMs: 30 }), operator: flat, policy: builtinPolicy(), seeds: fakeSeeds(), runsDirectory: root, budget: { candidates: 10_000, timeSeconds: 0.3 }, stagnationGenerations: 1000 });
    expect(timed.reason).toBe("time");
    expect(openRun(timed.folder).run.activeMs).toBeGreaterThanOrEqual(300);
  });

  it("gives the operator the memory mode of each step: siblings, combine, restart after stagnation", async () => {
    const seen: string[] = [];
    const recording: Operator = {
      id: "recording",
      description: "records memory modes",
      async propose(context) {
        seen.push(context.memoryMode);
        return [{ source: `${BASELINE}// ${context.generation} ${seen.length} ${context.memoryMode}\n`, language: "cpp", parentIds: context.parents.map((parent) => parent.id) }];
      },
    };
    const result = await optimize({ spec: FAKE_SPEC, platform: new FakePlatform(), operator: recording, policy: builtinPolicy("tournament"), seeds: fakeSeeds(), runsDirectory: root, budget: { candidates: 60 }, generationSize: 4, restartAfterGenerations: 2, stagnationGenerations: 6, seed: 4 });
    expect(result.reason).toBe("stagnation");
    expect(new Set(seen)).toEqual(new Set(["inherit", "compare-siblings", "combine", "restart"]));
    const { candidates } = openRun(result.folder);
    // Restarts begin only once two generations passed without improvement (generation 3 at the earliest).
    const firstRestart = candidates.find((candidate) => candidate.memoryMode === "restart")!;
    expect(firstRestart.generation).toBeGreaterThanOrEqual(3);
    expect(candidates.filter((candidate) => candidate.memoryMode === "combine").every((candidate) => candidate.parentIds.length === 2)).toBe(true);
  });

  it.each(["greedy", "tournament", "ucb", "map-elites"])("runs to completion with the %s policy and beats the default instance", async (policy) => {
    const result = await optimize({ spec: FAKE_SPEC, platform: new FakePlatform(), ...engineParts(fakeSeeds(), policy), seeds: fakeSeeds(), runsDirectory: root, budget: { candidates: 30 }, seed: 5 });
    expect(result.reason).toBe("budget");
    expect(openRun(result.folder).run.policy).toBe(policy);
    expect(result.best!.fitness).toBeGreaterThan(1.2);
  });

  it("an aborted run is stopped (with the reason given), then resume finishes it without evaluating anything twice", async () => {
    const controller = new AbortController();
    const platform = new FakePlatform({ capacity: 2, delayMs: 10 });
    let ended = 0;
    const first = await optimize({
      spec: FAKE_SPEC, platform, ...engineParts(fakeSeeds()), seeds: fakeSeeds(), runsDirectory: root, budget: { candidates: 16 }, seed: 6, signal: controller.signal,
      onEvent: (event) => {
        if (event.type === "candidate-end" && ++ended === 5) controller.abort("stopped by the test");
      },
    });
    expect(first).toMatchObject({ status: "stopped", reason: "stopped by the test" });
    const before = openRun(first.folder);
    expect(before.run.status).toBe("stopped");
    const finished = before.candidates.filter((candidate) => candidate.status !== "pending");
    expect(finished.length).toBeGreaterThanOrEqual(5);
    expect(finished.length).toBeLessThan(16);

    const again = new FakePlatform({ capacity: 2 });
    const resumed = await resumeRun({ folder: first.folder, platform: again, ...engineParts(fakeSeeds()) });
    expect(resumed.status).toBe("completed");
    expect(resumed.reason).toBe("budget");
    const after = openRun(first.folder);
    expect(after.candidates).toHaveLength(16);
    expect(after.candidates.every((candidate) => candidate.evaluationCount === 1)).toBe(true);
    for (const candidate of finished) expect(after.candidates.find((other) => other.id === candidate.id)).toEqual(candidate);
    expect(new Set([...platform.evaluations, ...again.evaluations]).size).toBe(platform.evaluations.length + again.evaluations.length);
    // Resuming a completed run changes nothing.
    const noop = await resumeRun({ folder: first.folder, platform: new FakePlatform(), ...engineParts(fakeSeeds()) });
    expect(noop.totals.candidates).toBe(16);
  });

  it("has no default operator or policy: a direct caller that omits one is refused before any work", async () => {
    const platform = new FakePlatform();
    const { operator, policy } = engineParts(fakeSeeds());
    const bare = { spec: FAKE_SPEC, platform, seeds: fakeSeeds(), runsDirectory: root, budget: { candidates: 6 } };
    // As a JavaScript caller would: the types require both, the engine checks them too.
    await expect(optimize({ ...bare, policy } as unknown as Parameters<typeof optimize>[0])).rejects.toMatchObject({ code: "operator_required" });
    await expect(optimize({ ...bare, operator } as unknown as Parameters<typeof optimize>[0])).rejects.toMatchObject({ code: "policy_required" });
    await expect(optimize({ ...bare, operator, policy: "greedy" } as unknown as Parameters<typeof optimize>[0])).rejects.toMatchObject({ code: "policy_required" });
    expect(platform.evaluations).toHaveLength(0);
  });

  it("resumes only with the parts it is given: both required, and the policy the run stored", async () => {
    const controller = new AbortController();
    const first = await optimize({
      spec: FAKE_SPEC, platform: new FakePlatform(), ...engineParts(fakeSeeds(), "tournament"), seeds: fakeSeeds(), runsDirectory: root, budget: { candidates: 12 }, seed: 8, signal: controller.signal,
      onEvent: (event) => {
        if (event.type === "candidate-end") controller.abort("stopped by the test");
      },
    });
    expect(first.status).toBe("stopped");
    const { operator } = engineParts(fakeSeeds());
    await expect(resumeRun({ folder: first.folder, platform: new FakePlatform(), policy: builtinPolicy("tournament") } as unknown as Parameters<typeof resumeRun>[0])).rejects.toMatchObject({ code: "operator_required" });
    await expect(resumeRun({ folder: first.folder, platform: new FakePlatform(), operator } as unknown as Parameters<typeof resumeRun>[0])).rejects.toMatchObject({ code: "policy_required" });
    await expect(resumeRun({ folder: first.folder, platform: new FakePlatform(), operator, policy: builtinPolicy("greedy") })).rejects.toMatchObject({ code: "policy_mismatch" });
    // A refused resume leaves the run as it was and its lock free: the right parts then finish it.
    const resumed = await resumeRun({ folder: first.folder, platform: new FakePlatform(), operator, policy: builtinPolicy("tournament") });
    expect(resumed).toMatchObject({ status: "completed", reason: "budget" });
    expect(resumed.totals.candidates).toBe(12);
  });

  it("streams events as an async iterator and rejects bad options before any work", async () => {
    const types: string[] = [];
    const stream = streamEvents((onEvent) => optimize({ spec: FAKE_SPEC, platform: new FakePlatform(), ...engineParts(fakeSeeds()), seeds: fakeSeeds(), runsDirectory: root, budget: { candidates: 6 }, onEvent }));
    for await (const event of stream) types.push(event.type);
    expect((await stream.result).totals.candidates).toBe(6);
    expect(types[0]).toBe("run-start");
    expect(types.at(-1)).toBe("run-end");
    expect(types).toContain("generation-start");

    await expect(optimize({ spec: FAKE_SPEC, platform: new FakePlatform(), ...engineParts(fakeSeeds()), seeds: fakeSeeds(), runsDirectory: root, budget: { candidates: 0 } })).rejects.toThrow(/budget\.candidates/);
    await expect(optimize({ spec: { ...FAKE_SPEC, targets: ["cuda"] }, platform: new FakePlatform(), ...engineParts(fakeSeeds()), seeds: fakeSeeds(), runsDirectory: root, budget: { candidates: 6 } })).rejects.toThrow(/targets cuda, not 'cpu'/);
  });
});
