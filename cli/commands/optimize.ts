import { ModelOptionsSchema, RunOptionsSchema, parseDuration, runSettingsFromOptions } from "../../app/run-request.js";
import { startRun } from "../../app/start-run.js";
import { UserError } from "../../core/errors.js";
import { defineCommand } from "../command.js";
import { modelFromFlags, openCliComposition } from "../context.js";
import { driveRun } from "../optimize-session.js";
import { COMMON_OPTIONS, optionsFromSchema, optionsHelp, parseCommandLine } from "../options.js";

export const OPTIMIZE_OPTIONS = {
  ...optionsFromSchema(
    RunOptionsSchema,
    { platform: "ID", operator: "ID", policy: "ID", budget: "N", time: "DURATION", tokens: "N", cost: "USD", target: "X", stagnation: "N", generationSize: "N", concurrency: "N", seed: "N", size: "NAME", trials: "N", threads: "N", minTimeMs: "MS" },
    { time: { parse: (text, flag) => parseDuration(text, flag) } },
  ),
  ...optionsFromSchema(ModelOptionsSchema, { model: "NAME", baseUrl: "URL", priceIn: "USD", priceOut: "USD" }, { priceIn: { expects: "a price in USD per million tokens (0 or more)" }, priceOut: { expects: "a price in USD per million tokens (0 or more)" } }),
  specsDir: COMMON_OPTIONS.specsDir,
  queue: COMMON_OPTIONS.queue,
  tag: COMMON_OPTIONS.tag,
  json: COMMON_OPTIONS.jsonEvents,
};

const usage = `
Usage: kernelevolve optimize <spec> [options]

Searches for a faster correct kernel for a spec: evaluates the seed kernels, then evolves new
candidates (selection policy -> operator -> evaluation) until a limit is reached. Without a model
the offline autotune operator tunes the parameters of the spec's template kernel.
Everything is saved in runs/<run-id>/ as it happens; 'kernelevolve resume <run-id>' continues.

Options:
${optionsHelp(OPTIMIZE_OPTIONS)}

Exit codes: 0 a correct kernel was found, 1 none was, 2 bad usage, 3 platform failure, 5 the model could
not be used (refused key, unreachable endpoint, no quota), 130 stopped (143 by SIGTERM).
`;

export default defineCommand({
  name: "optimize",
  summary: "Search for a faster kernel for a spec (offline autotune, or an LLM with --model)",
  usage,
  async run(argv, context) {
    // Every flag is validated before the runtime starts.
    const { values, positionals } = parseCommandLine(argv, OPTIMIZE_OPTIONS, usage, { expected: "one spec id or file", min: 1, max: 1 });
    const prices = {
      ...(values.priceIn !== undefined ? { inputCostPerMillion: values.priceIn } : {}),
      ...(values.priceOut !== undefined ? { outputCostPerMillion: values.priceOut } : {}),
    };
    const model = modelFromFlags(context, values, prices);
    if (!model && Object.keys(prices).length) throw new UserError("bad_usage", "--price-in/--price-out set the price of a model: pass --model too");

    const composition = await openCliComposition(context, { specsDirectories: values.specsDir, model, fleet: { queue: values.queue, tag: values.tag } });
    try {
      // --model picks the LLM operator even where the project's default operator is another.
      const operator = values.operator ?? (values.model ? "llm" : undefined);
      const request = { ...runSettingsFromOptions(values), spec: positionals[0], platform: values.platform, operator, policy: values.policy };
      return await driveRun(context, values.json, (onEvent, signal) => startRun(composition, request, { onEvent, signal }));
    } finally {
      await composition.close();
    }
  },
});
