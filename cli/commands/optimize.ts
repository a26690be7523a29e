import { parseArgs } from "node:util";
import { PlatformError, UserError } from "../../core/errors.js";
import type { ContextProvider } from "../../core/types.js";
import { optimize } from "../../graphs/evolve/optimize.js";
import { defineCommand } from "../command.js";
import { composeForCli } from "../compose.js";
import { driveRun, parseDuration, positiveNumber } from "../optimize-session.js";

const usage = `
Usage: kernelevolve optimize <spec> [options]

Searches for a faster correct kernel for a spec: evaluates the seed kernels, then evolves new
candidates (selection policy -> operator -> evaluation) until a limit is reached. Without a model
the offline autotune operator tunes the parameters of the spec's template kernel.
Everything is saved in runs/<run-id>/ as it happens; 'kernelevolve resume <run-id>' continues.

Options:
  --platform ID          Where kernels run (default: cpu)
  --model NAME           Use the LLM operator with this model (OpenAI-compatible endpoint)
  --base-url URL         Endpoint of the model (default: KERNELEVOLVE_BASE_URL / OPENAI_BASE_URL)
  --operator ID          Operator id (default: llm with a model, else autotune)
  --policy ID            greedy | tournament | ucb | map-elites, or a plugin's (default: greedy)
  --budget N             Most candidates, seeds included (default 40)
  --time DURATION        Most working time, e.g. 90s, 10m, 1h
  --tokens N             Most model tokens
  --cost USD             Most model spending (needs prices: --price-in/--price-out or the config)
  --price-in USD         Price of the model per million prompt tokens (default: kernelevolve.config.json "models")
  --price-out USD        Price of the model per million completion tokens
  --target X             Stop once the best speed-up reaches X
  --stagnation N         Stop after N generations without improvement (default 8)
  --generation-size N    Candidates per generation (default: max(4, platform capacity))
  --concurrency N        Most evaluations at once (default: the platform's capacity)
  --seed N              Seed of the run's randomness (default 0)
  --size NAME            Evaluate this size only (repeatable; default: every size)
  --trials N             Correctness trials per size (default 3)
  --threads N            Threads for kernel and reference (default: all cores)
  --min-time-ms MS       Timed for at least this long per size (default 200)
  --specs-dir DIR        Also search this folder for spec ids (repeatable)
  --queue URL            Evaluate through the fleet at this Redis (kernelevolve worker; docs/fleet.md)
  --tag TAG              Only fleet workers started with this hardware tag
  --json                 One JSON event per line instead of the progress display

Exit codes: 0 a correct kernel was found, 1 none was, 2 bad usage, 3 platform failure, 5 the model could
not be used (refused key, unreachable endpoint, no quota), 130 stopped (143 by SIGTERM).
`;

/** The fleet a run used, for `resume` (a password in the URL is not stored: resume then needs --queue). */
function storedFleet(fleet: { queue: string; tag?: string } | undefined): { queue: string; tag?: string } | undefined {
  if (!fleet) return undefined;
  try {
    const url = new URL(fleet.queue);
    url.password = "";
    return { queue: url.toString(), tag: fleet.tag };
  } catch {
    return undefined;
  }
}

export default defineCommand({
  name: "optimize",
  summary: "Search for a faster kernel for a spec (offline autotune, or an LLM with --model)",
  usage,
  async run(argv, context) {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          platform: { type: "string" },
          model: { type: "string" },
          "base-url": { type: "string" },
          operator: { type: "string" },
          policy: { type: "string" },
          budget: { type: "string" },
          time: { type: "string" },
          tokens: { type: "string" },
          cost: { type: "string" },
          "price-in": { type: "string" },
          "price-out": { type: "string" },
          target: { type: "string" },
          stagnation: { type: "string" },
          "generation-size": { type: "string" },
          concurrency: { type: "string" },
          seed: { type: "string" },
          size: { type: "string", multiple: true },
          trials: { type: "string" },
          threads: { type: "string" },
          "min-time-ms": { type: "string" },
          "specs-dir": { type: "string", multiple: true, default: [] },
          json: { type: "boolean", default: false },
          queue: { type: "string" },
          tag: { type: "string" },
        },
      });
    } catch (error) {
      throw new UserError("bad_usage", `${(error as Error).message}\n${usage.trim()}`);
    }
    const { values, positionals } = parsed;
    if (positionals.length !== 1) throw new UserError("bad_usage", `expected one spec id or file, got ${positionals.length}\n${usage.trim()}`);
    if (values.seed !== undefined && !/^-?\d+$/.test(values.seed)) throw new UserError("bad_usage", `--seed expects an integer, got '${values.seed}'`);
    // Validate every flag before starting the runtime.
    const settings = {
      budget: {
        candidates: positiveNumber("budget", values.budget, true) ?? 40,
        timeSeconds: values.time !== undefined ? parseDuration("time", values.time) : undefined,
        tokens: positiveNumber("tokens", values.tokens, true),
        costUsd: positiveNumber("cost", values.cost),
      },
      target: positiveNumber("target", values.target),
      stagnationGenerations: positiveNumber("stagnation", values.stagnation, true),
      generationSize: positiveNumber("generation-size", values["generation-size"], true),
      concurrency: positiveNumber("concurrency", values.concurrency, true),
      seed: values.seed !== undefined ? Number(values.seed) : 0,
      evaluation: {
        sizes: values.size,
        trials: positiveNumber("trials", values.trials, true),
        threads: positiveNumber("threads", values.threads, true),
        minTimeMs: positiveNumber("min-time-ms", values["min-time-ms"]),
      },
    };
    const price = (flag: "price-in" | "price-out") => {
      const text = values[flag];
      if (text === undefined) return undefined;
      const value = Number(text);
      if (!Number.isFinite(value) || value < 0) throw new UserError("bad_usage", `--${flag} expects a price in USD per million tokens (0 or more), got '${text}'`);
      return value;
    };
    const prices = {
      ...(price("price-in") !== undefined ? { inputCostPerMillion: price("price-in") } : {}),
      ...(price("price-out") !== undefined ? { outputCostPerMillion: price("price-out") } : {}),
    };
    const modelName = values.model ?? context.model.name;
    const model = modelName ? { name: modelName, baseUrl: values["base-url"] ?? context.model.baseUrl, apiKey: context.model.apiKey, ...prices } : undefined;
    if (!model && Object.keys(prices).length) throw new UserError("bad_usage", "--price-in/--price-out set the price of a model: pass --model too");

    const composition = await composeForCli(context, { specsDirectories: values["specs-dir"], model, fleet: { queue: values.queue, tag: values.tag } });
    try {
      const { spec } = composition.resolveSpec(positionals[0]);
      const unknownSizes = (values.size ?? []).filter((size) => !(size in spec.sizes));
      if (unknownSizes.length) throw new UserError("unknown_size", `spec '${spec.id}' has no size ${unknownSizes.join(", ")}. Sizes: ${Object.keys(spec.sizes).join(", ")}`);
      const platform = composition.platforms.get(values.platform ?? composition.defaults.platform);
      const availability = await platform.availability();
      if (!availability.available) throw new PlatformError("platform_unavailable", `platform '${platform.id}' is not available here: ${availability.reason ?? "no reason given"}`);
      const seeds = composition.seedsFor(spec, platform);
      const operatorId = values.operator ?? (values.model ? "llm" : composition.defaults.operator);
      const operator = composition.operators.get(operatorId).create({ spec, platform, seeds });
      const policy = composition.policies.get(values.policy ?? composition.defaults.policy);
      // Retrieval only matters to an operator that writes prompts; the autotuner never reads it.
      const contextProvider: ContextProvider | undefined = operatorId === "autotune" ? undefined : await composition.contextProvider();
      const experience = await composition.experienceMemory();
      return await driveRun(context, values.json, (onEvent, signal) =>
        optimize({
          ...settings,
          spec,
          platform,
          operator,
          policy,
          seeds,
          runsDirectory: context.runsDirectory,
          contextProvider,
          experience,
          onEvent,
          signal,
          metadata: { operatorId, model: model ? { name: model.name, baseUrl: model.baseUrl, ...prices } : undefined, fleet: storedFleet(composition.options.fleet) },
        }),
      );
    } finally {
      await composition.close();
    }
  },
});

