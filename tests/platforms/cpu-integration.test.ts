import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { seedKernelPath } from "../../app/spec-catalog.js";
import { loadSpecDirectory } from "../../core/spec-loader.js";
import { smallestSize } from "../../core/spec.js";
import { createCpuPlatform, RuntimeClient, type RuntimePlatform } from "../../platforms/index.js";
import { describePlatformConformance } from "../conformance/platform-conformance.js";
import { FIXTURES, PYTHON, REAL_RUNTIME_PATH, realRuntimePresent, ROOT, vectorAddSpec } from "./helpers.js";

// Integration: the real Python runtime and g++. They run wherever the runtime package exists (CI
// included); a runtime that exists but does not answer hello fails these tests rather than skipping.
const cache = mkdtempSync(join(tmpdir(), "kernelevolve-cpu-cache-"));
afterAll(() => rmSync(cache, { recursive: true, force: true }));

const makeCpu = (): RuntimePlatform =>
  createCpuPlatform({ client: new RuntimeClient({ python: PYTHON, pythonPath: REAL_RUNTIME_PATH, cwd: ROOT, compileCacheDirectory: cache }) });
const cpp = (file: string) => ({ language: "cpp" as const, source: readFileSync(join(FIXTURES, "kernels", file), "utf8") });
// Short timing: these tests check the path, the benchmark measures speed.
const quick = { trials: 2, warmup: 1, minTimeMs: 10, minRepetitions: 3 };

const describeReal = realRuntimePresent() ? describe : describe.skip;

describeReal("cpu platform on the real runtime", () => {
  describePlatformConformance("cpu", makeCpu, {
    spec: vectorAddSpec(),
    correct: cpp("vector-add-correct.cpp"),
    wrong: cpp("vector-add-wrong.cpp"),
    compileError: cpp("vector-add-compile-error.cpp"),
    options: { ...quick, sizes: ["tiny"] },
    processIds: (platform) => platform.processIds(),
    peakConcurrency: (platform) => platform.peakConcurrency,
    timeoutMs: 180_000,
  });

  describe("seed baselines pass at their smallest size", () => {
    const specs = loadSpecDirectory(join(ROOT, "seeds", "specs")).filter((spec) => spec.targets.includes("cpu"));
    let platform: RuntimePlatform;
    beforeAll(() => {
      platform = makeCpu();
    });
    afterAll(async () => {
      await platform?.close();
    });

    test("every cpu spec has a baseline", () => {
      const missing = specs.filter((spec) => !seedKernelPath(ROOT, "cpu", spec.id)).map((spec) => spec.id);
      expect(missing).toEqual([]);
    });

    test.each(specs.map((spec) => [spec.id, spec] as const))("%s", async (_id, spec) => {
      const path = seedKernelPath(ROOT, "cpu", spec.id);
      expect(path).toBeDefined();
      const size = smallestSize(spec);
      const result = await platform.evaluate(spec, { language: "cpp", source: readFileSync(path!, "utf8") }, { ...quick, sizes: [size] });
      // The whole message and log on failure: this is what the lead needs to fix a seed.
      expect({ status: result.status, reason: result.reason, message: result.message, log: result.status === "failed" ? result.log.slice(0, 2000) : "" }).toEqual({
        status: "passed",
        reason: undefined,
        message: expect.any(String),
        log: "",
      });
      expect(result.timings.map((timing) => timing.size)).toEqual([size]);
      expect(result.timings[0].candidate.medianMs).toBeGreaterThan(0);
    }, 180_000);
  });
});
