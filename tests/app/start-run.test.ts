import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { asKernelEvolveError, atBoundary } from "../../app/boundary.js";
import { compose, openComposition, type Composition } from "../../app/composition.js";
import { resolveEnvironment } from "../../app/environment.js";
import { evaluateKernel } from "../../app/evaluate-kernel.js";
import { KernelActionService } from "../../app/kernel-actions.js";
import { builtinOperators } from "../../app/operators.js";
import { DEFAULT_BUDGET, runSettingsFromOptions } from "../../app/run-request.js";
import { resolveRun, type RunRequest } from "../../app/start-run.js";
import { OPTIMIZE_OPTIONS } from "../../cli/commands/optimize.js";
import { parseCommandLine } from "../../cli/options.js";
import { PlatformError, SystemError, UserError, type KernelEvolveError } from "../../core/errors.js";
import type { Operator } from "../../core/types.js";
import { RunSettingsSchema } from "../../graphs/evolve/options.js";
import { evaluate, optimize } from "../../index.js";
import { repositoryRoot } from "../helpers/paths.js";

// Hermetic: the fake runtime (tests/cli/fixtures/fake-python) answers every evaluation, so these tests
// check how a request is resolved, not kernel speed.
const FAKE_PYTHON = join(repositoryRoot, "tests", "cli", "fixtures", "fake-python");
const scratch = mkdtempSync(join(tmpdir(), "kernelevolve-app-"));
let composition: Composition;

/** A request as the CLI builds it from argv (the same option table and conversion the command uses). */
function fromCommandLine(argv: string[]): RunRequest {
  const { values, positionals } = parseCommandLine(argv, OPTIMIZE_OPTIONS, "usage", { expected: "one spec", min: 1, max: 1 });
  return { ...runSettingsFromOptions(values), spec: positionals[0], platform: values.platform, operator: values.operator, policy: values.policy };
}

/** What a resolution decided, without the live objects. */
async function decided(request: RunRequest, on = composition) {
  const run = await resolveRun(on, request);
  return { spec: run.spec.id, platform: run.platform.id, operator: run.operatorId, policy: run.policy.id, seeds: run.seeds.map((seed) => seed.name), settings: run.settings, retrieval: Boolean(run.contextProvider), metadata: run.metadata };
}

/** The error a promise rejects with. */
async function rejection(promise: Promise<unknown>): Promise<KernelEvolveError> {
  try {
    await promise;
  } catch (error) {
    return error as KernelEvolveError;
  }
  throw new Error("expected a rejection");
}

beforeAll(async () => {
  composition = await compose({ ...resolveEnvironment({ cwd: scratch, python: FAKE_PYTHON, cacheDirectory: join(scratch, "cache") }) });
});
afterAll(async () => {
  await composition?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe("startRun resolves a request once, the same way for every entry point", () => {
  it("the CLI's flags and the library's request resolve to the same run", async () => {
    const cli = await decided(fromCommandLine(["layernorm", "--budget", "9", "--size", "small", "--trials", "2", "--policy", "tournament", "--time", "2m", "--seed", "4"]));
    const library = await decided({ spec: "layernorm", budget: { candidates: 9, timeSeconds: 120 }, evaluation: { sizes: ["small"], trials: 2 }, policy: "tournament", seed: 4 });
    expect(cli).toEqual(library);
    expect(cli).toMatchObject({ spec: "layernorm", platform: "cpu", operator: "autotune", policy: "tournament", settings: { budget: { candidates: 9, timeSeconds: 120 } } });
    // Sizes are resolved once too: the requested ones and the generated ragged size are checked, the representative ones timed.
    expect((await resolveRun(composition, { spec: "layernorm" })).sizes).toEqual({ checked: ["small", "medium", "large", "ragged"], timed: ["large"], flags: [] });
    expect((await resolveRun(composition, { spec: "layernorm", evaluation: { sizes: ["small"] } })).sizes).toEqual({ checked: ["small", "ragged"], timed: ["small"], flags: ["timed-non-representative"] });
  });

  it("the CLI and the library run the same stored run for the same request", async () => {
    const { runCliInProcess } = await import("../cli/cli-process.js");
    const cliRuns = join(scratch, "cli-runs");
    const cli = await runCliInProcess(["optimize", "row-sum-squares", "--budget", "4", "--size", "small", "--json"], { KERNELEVOLVE_PYTHON: FAKE_PYTHON, KERNELEVOLVE_CACHE: join(scratch, "cache"), KERNELEVOLVE_RUNS: cliRuns });
    expect(cli.stderr).toBe("");
    const cliStart = JSON.parse(cli.stdout.split("\n")[0]) as { runId: string };
    const library = await optimize({ spec: "row-sum-squares", budget: { candidates: 4 }, evaluation: { sizes: ["small"] }, python: FAKE_PYTHON, cwd: scratch, cacheDirectory: join(scratch, "cache"), runsDirectory: join(scratch, "library-runs") }).result;
    const { readRunConfig } = await import("../../graphs/evolve/optimize.js");
    const stored = (folder: string) => {
      const { settings, metadata, operator, policy, platform, seeds } = readRunConfig(folder);
      return { settings, metadata, operator, policy, platform, seeds: seeds.map((seed) => seed.name) };
    };
    expect(stored(join(cliRuns, cliStart.runId))).toEqual(stored(library.folder));
  });

  it("a run that sets no budget gets the one default, from the CLI, the library and the chat alike", async () => {
    expect((await decided(fromCommandLine(["layernorm"]))).settings.budget.candidates).toBe(DEFAULT_BUDGET);
    expect((await decided({ spec: "layernorm" })).settings.budget.candidates).toBe(DEFAULT_BUDGET);
    const actions = new KernelActionService(composition, { evaluation: { trials: 1 } });
    try {
      const started = await actions.startOptimization({ spec: "row-sum-squares", sizes: ["small"] });
      expect(started.message).toContain(`budget ${DEFAULT_BUDGET} candidates`);
      expect(started.message).toMatch(/checked at small, ragged, timed at small \(not a representative size of the spec: \w+; speed-ups may not carry over\)/);
    } finally {
      await actions.close();
    }
    // The engine itself holds no default budget: the application layer owns it.
    expect(RunSettingsSchema.safeParse({}).success).toBe(false);
  });

  it("retrieval follows the operator's declared capability, not its id", async () => {
    const declared = Object.fromEntries(builtinOperators({ root: repositoryRoot }).map((provider) => [provider.id, provider.capabilities]));
    expect(declared).toEqual({ autotune: { retrieval: false, model: false }, llm: { retrieval: true, model: true } });
    expect((await decided({ spec: "layernorm", operator: "autotune" })).retrieval).toBe(false);
    // An operator handed over as an object may write prompts, whatever its id says.
    const object: Operator = { id: "autotune", description: "an object that happens to share the id", async propose() {
      return [];
    } } as unknown as Operator;
    expect((await decided({ spec: "layernorm", operator: object })).retrieval).toBe(true);
    // The LLM operator gets retrieval and records its model, never the key.
    const withModel = await compose({ ...resolveEnvironment({ cwd: scratch, python: FAKE_PYTHON, cacheDirectory: join(scratch, "cache") }), model: { name: "fake-coder", apiKey: "secret-key" } });
    try {
      const llm = await decided({ spec: "layernorm" }, withModel);
      expect(llm).toMatchObject({ operator: "llm", retrieval: true, metadata: { operatorId: "llm", model: { name: "fake-coder" } } });
      expect(JSON.stringify(llm.metadata)).not.toContain("secret-key");
    } finally {
      await withModel.close();
    }
  });
});

describe("bad input at the public boundary is a KernelEvolveError that says what is wrong", () => {
  it("unknown spec, platform, policy, size, budget and targets", async () => {
    const cases: [RunRequest, typeof UserError, string, RegExp][] = [
      [{ spec: "layernrom" }, UserError, "unknown_spec", /no spec named 'layernrom'\. Available: .*layernorm/],
      [{ spec: "layernorm", platform: "tpu" }, UserError, "unknown_id", /unknown platform 'tpu'\. Available: .*cpu/],
      [{ spec: "layernorm", policy: "annealing" }, UserError, "unknown_id", /unknown selection policy 'annealing'/],
      [{ spec: "layernorm", evaluation: { sizes: ["huge"] } }, UserError, "unknown_size", /spec 'layernorm' has no size huge\. Available: small, medium, large/],
      [{ spec: "layernorm", budget: { candidates: 0 } }, UserError, "bad_budget", /whole number of candidates, 1 or more; got 0/],
      [{ spec: "layernorm", budget: { candidates: 2.5 } }, UserError, "bad_budget", /got 2\.5/],
      [{ spec: { ...composition.resolveSpec("layernorm").spec, targets: ["cuda"] } }, UserError, "wrong_target", /spec 'layernorm' targets cuda, not 'cpu'/],
      [{ spec: { id: "Not Kebab" } as never }, UserError, "invalid_spec", /invalid spec the spec object passed to the library/],
    ];
    for (const [request, kind, code, message] of cases) {
      const error = await rejection(resolveRun(composition, request));
      expect({ request, kind: error instanceof kind, code: error.code }).toEqual({ request, kind: true, code });
      expect(error.message).toMatch(message);
    }
  });

  it("a platform that cannot start here is a PlatformError, found before anything runs", async () => {
    const broken = await openComposition({ environment: resolveEnvironment({ cwd: scratch, python: join(scratch, "no-python"), cacheDirectory: join(scratch, "cache") }) });
    try {
      const error = await rejection(resolveRun(broken, { spec: "layernorm" }));
      expect(error).toBeInstanceOf(PlatformError);
      expect(error.message).toMatch(/platform 'cpu' is not available here: .*no-python/);
    } finally {
      await broken.close();
    }
  });

  it("the library's functions reject bad requests with KernelEvolveErrors", async () => {
    expect(() => optimize(null as never)).toThrow(UserError);
    const run = optimize({ spec: "layernorm", budget: { candidates: -1 }, python: FAKE_PYTHON, cwd: scratch, cacheDirectory: join(scratch, "cache") });
    await expect(run.result).rejects.toMatchObject({ code: "bad_budget", fault: "user" });
    await expect(evaluate({ spec: "layernorm", candidate: { language: "cpp" } as never, python: FAKE_PYTHON, cwd: scratch, cacheDirectory: join(scratch, "cache") })).rejects.toMatchObject({ code: "invalid_candidate" });
    await expect(evaluate({ spec: "no-such-spec", candidate: { language: "cpp", source: "// k" }, python: FAKE_PYTHON, cwd: scratch, cacheDirectory: join(scratch, "cache") })).rejects.toBeInstanceOf(UserError);
    await expect(evaluateKernel(composition, { spec: "layernorm", candidate: { language: "cuda", source: "// k" }, platform: "cpu" })).rejects.toMatchObject({ code: "wrong_language" });
    await expect(optimize({ spec: "layernorm", plugins: ["./no-such-plugin.ts"], cwd: scratch }).result).rejects.toMatchObject({ code: "plugin_not_found" });
    const invalid = { specificationVersion: "v1", id: "Bad Id" } as never;
    await expect(optimize({ spec: "layernorm", plugins: [invalid], cwd: scratch }).result).rejects.toMatchObject({ code: "invalid_plugin", message: expect.stringContaining("kebab-case") });
  });

  it("anything unexpected that escapes the boundary becomes a SystemError keeping its cause", async () => {
    const cause = new Error("EACCES: permission denied, mkdir '/runs'");
    const error = await rejection(atBoundary("the run", async () => Promise.reject(cause)));
    expect(error).toBeInstanceOf(SystemError);
    expect(error).toMatchObject({ code: "unexpected", fault: "system", message: "the run failed: EACCES: permission denied, mkdir '/runs'", cause });
    const user = new UserError("unknown_spec", "no spec named 'x'");
    expect(asKernelEvolveError(user, "the run")).toBe(user);
  });
});
