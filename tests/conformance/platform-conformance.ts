import { EvaluationResultSchema, HardwareProfileSchema, type CandidateSource, type EvaluationOptions, type EvaluationResult } from "../../core/protocol.js";
import type { KernelSpec } from "../../core/spec.js";
import type { Platform } from "../../core/types.js";

/**
 * The shared conformance suite every platform must pass (built-in and plugin platforms alike).
 * It only uses the Platform interface, plus two optional probes a platform may offer.
 */
export interface ConformanceFixtures<P extends Platform = Platform> {
  spec: KernelSpec;
  /** A candidate that computes the spec's reference. */
  correct: CandidateSource;
  /** A candidate that compiles and runs but computes the wrong values. */
  wrong: CandidateSource;
  /** A candidate that does not compile; required when the platform declares `compiled`. */
  compileError?: CandidateSource;
  /** Options for every evaluation (keep them small: one size, short timing). */
  options?: EvaluationOptions;
  /** Process ids the platform keeps alive; after close() none may remain. */
  processIds?: (platform: P) => number[];
  /** The most evaluations the platform had in flight at once. */
  peakConcurrency?: (platform: P) => number;
  /** Per-test time limit in milliseconds. */
  timeoutMs?: number;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function waitUntilGone(pids: number[], timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let alive = pids.filter(isAlive);
  while (alive.length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    alive = alive.filter(isAlive);
  }
  return alive;
}

function expectValidResult(platform: Platform, result: EvaluationResult): void {
  // Every result must survive the protocol schema: a queue or a plugin may not invent shapes.
  expect(EvaluationResultSchema.safeParse(result).success).toBe(true);
  expect(result.platform).toBe(platform.id);
  expect(result.message.length).toBeGreaterThan(0);
}

/** Registers the conformance tests of one platform with jest. */
export function describePlatformConformance<P extends Platform>(
  name: string,
  makePlatform: () => P | Promise<P>,
  fixtures: ConformanceFixtures<P>,
): void {
  const timeout = fixtures.timeoutMs ?? 120_000;
  const options = fixtures.options ?? {};

  describe(`platform conformance: ${name}`, () => {
    let platform: P;
    beforeAll(async () => {
      platform = await makePlatform();
    }, timeout);
    afterAll(async () => {
      await platform?.close();
    }, timeout);

    test("declares a kebab-case id, languages that include the fixtures' and boolean capabilities", () => {
      expect(platform.id).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(platform.languages.length).toBeGreaterThan(0);
      expect(platform.languages).toContain(fixtures.correct.language);
      expect(platform.description.length).toBeGreaterThan(0);
      for (const key of ["timed", "accelerator", "compiled"] as const) expect(typeof platform.capabilities[key]).toBe("boolean");
      expect(fixtures.spec.targets).toContain(platform.id);
    });

    test("is available here", async () => {
      const availability = await platform.availability();
      expect(availability).toEqual({ available: true });
    }, timeout);

    test("reports a hardware profile of the protocol's shape, for itself", async () => {
      const profile = await platform.hardwareProfile();
      expect(HardwareProfileSchema.safeParse(profile).success).toBe(true);
      expect(profile.platform).toBe(platform.id);
      expect(profile.device.trim().length).toBeGreaterThan(0);
    }, timeout);

    test("reports a positive integer capacity", async () => {
      const capacity = await platform.capacity();
      expect(Number.isInteger(capacity)).toBe(true);
      expect(capacity).toBeGreaterThanOrEqual(1);
    }, timeout);

    test("passes a correct candidate, with trials and (when timed) timings", async () => {
      const result = await platform.evaluate(fixtures.spec, fixtures.correct, options);
      expectValidResult(platform, result);
      expect({ status: result.status, reason: result.reason, message: result.message }).toMatchObject({ status: "passed", reason: undefined });
      expect(result.stage).toBe("done");
      expect(result.trials.length).toBeGreaterThan(0);
      expect(result.trials.every((trial) => trial.passed)).toBe(true);
      if (platform.capabilities.timed && options.timing !== false) {
        expect(result.timings.length).toBeGreaterThan(0);
        for (const timing of result.timings) {
          expect(timing.candidate.medianMs).toBeGreaterThan(0);
          expect(timing.reference.medianMs).toBeGreaterThan(0);
        }
        expect(result.speedup).toBeGreaterThan(0);
      }
    }, timeout);

    test("fails a wrong candidate with wrong_output, as data", async () => {
      const result = await platform.evaluate(fixtures.spec, fixtures.wrong, options);
      expectValidResult(platform, result);
      expect({ status: result.status, reason: result.reason }).toEqual({ status: "failed", reason: "wrong_output" });
      expect(result.stage).toBe("correctness");
      expect(result.trials.some((trial) => !trial.passed)).toBe(true);
      expect(result.timings).toEqual([]);
    }, timeout);

    test("fails a candidate that does not compile with compile_error and the compiler's log", async () => {
      if (!platform.capabilities.compiled) {
        expect(fixtures.compileError).toBeUndefined();
        return;
      }
      expect(fixtures.compileError).toBeDefined();
      const result = await platform.evaluate(fixtures.spec, fixtures.compileError!, options);
      expectValidResult(platform, result);
      expect({ status: result.status, stage: result.stage, reason: result.reason }).toEqual({ status: "failed", stage: "compile", reason: "compile_error" });
      expect(result.log.trim().length).toBeGreaterThan(0);
    }, timeout);

    test("answers concurrent evaluations each with its own verdict, within its capacity", async () => {
      const capacity = await platform.capacity();
      const candidates = Array.from({ length: capacity + 2 }, (_, index) => (index % 2 === 0 ? fixtures.correct : fixtures.wrong));
      const results = await Promise.all(candidates.map((candidate) => platform.evaluate(fixtures.spec, candidate, { ...options, timing: false })));
      expect(results.map((result) => result.status)).toEqual(candidates.map((candidate) => (candidate === fixtures.correct ? "passed" : "failed")));
      if (fixtures.peakConcurrency) {
        const peak = fixtures.peakConcurrency(platform);
        expect(peak).toBeGreaterThanOrEqual(Math.min(capacity, candidates.length) > 1 ? 2 : 1);
        expect(peak).toBeLessThanOrEqual(capacity);
      }
    }, timeout * 2);

    test("leaves no process behind after close()", async () => {
      const own = await makePlatform();
      let pids: number[] = [];
      try {
        const result = await own.evaluate(fixtures.spec, fixtures.wrong, options);
        expect(result.status).toBe("failed");
        pids = fixtures.processIds?.(own) ?? [];
        if (fixtures.processIds) expect(pids.length).toBeGreaterThan(0);
      } finally {
        await own.close();
      }
      expect(await waitUntilGone(pids, 5000)).toEqual([]);
    }, timeout);
  });
}
