import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSpecFile } from "../../core/spec-loader.js";
import type { EvaluationOptions, EvaluationResult } from "../../core/protocol.js";
import type { Platform } from "../../core/types.js";
import { Registry } from "../../core/registry.js";
import { createBuiltinPlatforms } from "../../platforms/index.js";
import plugin, { createSingleThreadPlatform } from "../../examples/plugin-with-tool-and-platform/index.js";
import { describePlatformConformance } from "../conformance/platform-conformance.js";
import { repositoryRoot } from "../helpers/paths.js";
import { PYTHON, realRuntimePresent } from "../platforms/helpers.js";

const example = join(repositoryRoot, "examples", "plugin-with-tool-and-platform");
const spec = loadSpecFile(join(example, "specs", "vector-scale.yaml"));
const cpp = (file: string) => ({ language: "cpp" as const, source: readFileSync(join(example, "kernels", file), "utf8") });

test("the example plugin passes its own validation and names its contributions", () => {
  expect(plugin.id).toBe("example-single-thread");
  expect(plugin.tools?.map((tool) => (tool as { name: string }).name)).toEqual(["estimate_roofline"]);
  expect(spec.targets).toEqual(["cpu", "cpu-single-thread"]);
});

test("cpu-single-thread forces one thread on the wrapped platform and answers with its own id", async () => {
  const seen: (EvaluationOptions | undefined)[] = [];
  const cpu = {
    id: "cpu",
    languages: ["cpp"],
    description: "recording stand-in",
    capabilities: { timed: true, accelerator: false, compiled: true },
    availability: async () => ({ available: true }),
    hardwareProfile: async () => ({ platform: "cpu", device: "test cpu", cores: 16 }),
    capacity: async () => 3,
    evaluate: async (_spec: unknown, _candidate: unknown, options?: EvaluationOptions) => {
      seen.push(options);
      return { status: "passed", platform: "cpu", message: "ok" } as EvaluationResult;
    },
    close: async () => undefined,
  } as unknown as Platform;
  const platform = createSingleThreadPlatform({ platforms: new Registry<Platform>("platform").register(cpu) });
  const result = await platform.evaluate(spec, cpp("vector-scale-correct.cpp"), { threads: 8, sizes: ["tiny"] });
  expect(seen).toEqual([{ threads: 1, sizes: ["tiny"] }]);
  expect(result.platform).toBe("cpu-single-thread");
  expect(await platform.hardwareProfile()).toMatchObject({ platform: "cpu-single-thread", cores: 1, device: "test cpu (one thread)" });
  expect(await platform.capacity()).toBe(3);
});

// The shared conformance suite on the real runtime and g++ (wherever the runtime package exists).
const describeReal = realRuntimePresent() ? describe : describe.skip;
describeReal("example plugin platform on the real runtime", () => {
  const cache = mkdtempSync(join(tmpdir(), "kernelevolve-plugin-platform-"));
  afterAll(() => rmSync(cache, { recursive: true, force: true }));
  const makePlatform = (): Platform => {
    const builtin = createBuiltinPlatforms({ python: PYTHON, pythonPath: join(repositoryRoot, "python"), cwd: repositoryRoot, compileCacheDirectory: cache });
    const platform = createSingleThreadPlatform({ platforms: builtin.registry });
    // This test owns the runtime the wrapped cpu platform uses, so closing the platform stops it.
    return { ...platform, close: () => builtin.close() };
  };
  describePlatformConformance("cpu-single-thread (example plugin)", makePlatform, {
    spec,
    correct: cpp("vector-scale-correct.cpp"),
    wrong: cpp("vector-scale-wrong.cpp"),
    compileError: cpp("vector-scale-compile-error.cpp"),
    options: { trials: 2, warmup: 1, minTimeMs: 10, minRepetitions: 3, sizes: ["tiny"] },
    timeoutMs: 180_000,
  });
});
