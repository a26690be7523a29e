import { PlatformError, UserError } from "../../core/errors.js";
import { CPU_PLATFORM, createBuiltinPlatforms, createCpuPlatform, RuntimePlatform } from "../../platforms/index.js";
import { describePlatformConformance } from "../conformance/platform-conformance.js";
import { FAKE_RUNTIME_PATH, fakeClient, isAlive, PYTHON, vectorAddSpec } from "./helpers.js";

const spec = vectorAddSpec();
const cpp = (source: string) => ({ language: "cpp" as const, source });

// The suite itself is checked against the fake runtime, whose verdicts come from source markers.
describePlatformConformance("runtime platform on the fake runtime", () => createCpuPlatform({ client: fakeClient() }), {
  spec,
  correct: cpp("// a correct kernel"),
  wrong: cpp("// WRONG"),
  compileError: cpp("// COMPILE_ERROR"),
  processIds: (platform) => platform.processIds(),
  peakConcurrency: (platform) => platform.peakConcurrency,
  timeoutMs: 20_000,
});

describe("RuntimePlatform", () => {
  test("cpu declares C++, timed, compiled, no accelerator", () => {
    const platform = createCpuPlatform({ client: fakeClient() });
    expect(platform.id).toBe("cpu");
    expect(platform.languages).toEqual(["cpp"]);
    expect(platform.capabilities).toEqual({ timed: true, accelerator: false, compiled: true });
  });

  test("never lets more evaluations reach the runtime than its capacity", async () => {
    const platform = createCpuPlatform({ client: fakeClient({ serveArguments: ["--capacity", "2"] }) });
    try {
      expect(await platform.capacity()).toBe(2);
      const results = await Promise.all(Array.from({ length: 5 }, () => platform.evaluate(spec, cpp("// FAKE_SLEEP=150"))));
      // The fake runtime itself counts requests in flight: its own peak proves the limit held on the wire.
      const runtimePeaks = results.map((result) => Number(result.flags.find((flag) => flag.startsWith("peak="))!.slice(5)));
      expect(Math.max(...runtimePeaks)).toBe(2);
      expect(platform.peakConcurrency).toBe(2);
    } finally {
      await platform.close();
    }
  });

  test("maxCapacity caps what the runtime reports", async () => {
    const platform = createCpuPlatform({ client: fakeClient({ serveArguments: ["--capacity", "4"] }), maxCapacity: 1 });
    try {
      expect(await platform.capacity()).toBe(1);
      const results = await Promise.all(Array.from({ length: 3 }, () => platform.evaluate(spec, cpp("// FAKE_SLEEP=50"))));
      expect(results.every((result) => result.flags.includes("peak=1"))).toBe(true);
    } finally {
      await platform.close();
    }
  });

  test("an evaluation aborted while waiting for a slot frees nothing it did not hold", async () => {
    const platform = createCpuPlatform({ client: fakeClient({ serveArguments: ["--capacity", "1"] }) });
    try {
      const first = platform.evaluate(spec, cpp("// FAKE_SLEEP=300"));
      const controller = new AbortController();
      const queued = platform.evaluate(spec, cpp("// ok"), {}, controller.signal);
      setTimeout(() => controller.abort(), 50);
      await expect(queued).rejects.toMatchObject({ code: "aborted" });
      const third = platform.evaluate(spec, cpp("// ok"));
      expect((await first).status).toBe("passed");
      expect((await third).flags).toContain("peak=1");
    } finally {
      await platform.close();
    }
  });

  test("refuses a candidate in another language, or for a spec that does not target it, as a failed result", async () => {
    const platform = createCpuPlatform({ client: fakeClient() });
    try {
      const wrongLanguage = await platform.evaluate(spec, { language: "triton", source: "@triton.jit" });
      expect(wrongLanguage).toMatchObject({ status: "failed", reason: "unsupported_platform", message: expect.stringContaining("runs cpp") });
      const otherTarget = await platform.evaluate({ ...spec, targets: ["cuda"] }, cpp("// ok"));
      expect(otherTarget).toMatchObject({ status: "failed", reason: "unsupported_platform", message: expect.stringContaining("targets cuda") });
      // Neither reached the runtime.
      expect(platform.processIds()).toEqual([]);
    } finally {
      await platform.close();
    }
  });

  test("rejects unknown sizes and bad options before spending anything", async () => {
    const platform = createCpuPlatform({ client: fakeClient() });
    try {
      await expect(platform.evaluate(spec, cpp("// ok"), { sizes: ["huge"] })).rejects.toThrow(/no size 'huge'. Available: tiny, small/);
      await expect(platform.evaluate(spec, cpp("// ok"), { trials: 0 })).rejects.toBeInstanceOf(UserError);
      await expect(platform.evaluate(spec, { language: "cpp", source: "" })).rejects.toThrow(/source/);
      expect(platform.processIds()).toEqual([]);
    } finally {
      await platform.close();
    }
  });

  test("reports an unavailable platform with the runtime's reason and refuses to evaluate on it", async () => {
    const platform = new RuntimePlatform({ ...CPU_PLATFORM, id: "offline" }, { client: fakeClient() });
    const ghost = new RuntimePlatform({ ...CPU_PLATFORM, id: "ghost" }, { client: fakeClient() });
    try {
      expect(await platform.availability()).toEqual({ available: false, reason: "no such device here" });
      expect((await ghost.availability()).reason).toMatch(/does not know platform 'ghost' \(it knows: cpu, offline\)/);
      const error = await platform.evaluate({ ...spec, targets: ["offline"] }, cpp("// ok")).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(PlatformError);
      expect((error as Error).message).toContain("no such device here");
    } finally {
      await Promise.all([platform.close(), ghost.close()]);
    }
  });

  test("availability is false, with the reason, when the runtime cannot start", async () => {
    const platform = createCpuPlatform({ client: fakeClient({ serveArguments: ["--fail-start"] }) });
    try {
      const availability = await platform.availability();
      expect(availability.available).toBe(false);
      expect(availability.reason).toContain("cannot import torch");
    } finally {
      await platform.close();
    }
  });
});

describe("createBuiltinPlatforms", () => {
  test("registers cpu, cuda and triton on one shared runtime that close() stops", async () => {
    const builtin = createBuiltinPlatforms({ python: PYTHON, pythonPath: FAKE_RUNTIME_PATH, shutdownGraceMs: 500 });
    expect(builtin.registry.ids()).toEqual(["cpu", "cuda", "triton"]);
    expect(() => builtin.registry.get("cuda-x")).toThrow(/unknown platform 'cuda-x'. Available: cpu, cuda, triton/);
    const cpu = builtin.registry.get("cpu");
    expect((await cpu.evaluate(spec, cpp("// ok"))).status).toBe("passed");
    const pid = builtin.client.processId!;
    // A platform's own close leaves the shared runtime to the others.
    await cpu.close();
    expect(isAlive(pid)).toBe(true);
    await builtin.close();
    expect(isAlive(pid)).toBe(false);
  });
});
