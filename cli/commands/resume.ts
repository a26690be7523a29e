import { parseArgs } from "node:util";
import { PlatformError, UserError } from "../../core/errors.js";
import type { ContextProvider } from "../../core/types.js";
import { readRunConfig, resumeRun } from "../../graphs/evolve/optimize.js";
import { seedFromSource } from "../../graphs/evolve/seeds.js";
import { resolveRunFolder } from "../../graphs/runs/run-paths.js";
import { defineCommand } from "../command.js";
import { composeForCli } from "../compose.js";
import { driveRun } from "../optimize-session.js";

const usage = `
Usage: kernelevolve resume <run> [options]

Continues a stopped run (Ctrl-C, /stop, SIGTERM) or an interrupted one (kill -9, crash) from its
last checkpoint: candidates that were proposed but not evaluated are evaluated, finished ones are
kept, and the search goes on until its limits. <run> is a run id, a unique prefix of one, 'latest', or a run folder. A run that another
process is still working on is refused (one owner process per run).

Options:
  --model NAME     Model for a run that used the LLM operator (default: the one it used)
  --base-url URL   Endpoint of that model
  --queue URL      Evaluate through the fleet at this Redis (default: the fleet the run used, if any)
  --tag TAG        Only fleet workers started with this hardware tag
  --json           One JSON event per line instead of the progress display
`;

export default defineCommand({
  name: "resume",
  summary: "Continue a stopped or interrupted optimisation run",
  usage,
  async run(argv, context) {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, allowPositionals: true, options: { model: { type: "string" }, "base-url": { type: "string" }, json: { type: "boolean", default: false }, queue: { type: "string" }, tag: { type: "string" } } });
    } catch (error) {
      throw new UserError("bad_usage", `${(error as Error).message}\n${usage.trim()}`);
    }
    const { values, positionals } = parsed;
    if (positionals.length !== 1) throw new UserError("bad_usage", `expected one run id or folder\n${usage.trim()}`);
    const folder = resolveRunFolder(context.runsDirectory, positionals[0]);
    const config = readRunConfig(folder);
    if (config.status === "completed") {
      context.stdout.write(`run ${positionals[0]} already completed; nothing to resume (see: kernelevolve report ${positionals[0]})\n`);
      return 0;
    }
    const stored = (config.metadata?.model ?? undefined) as { name?: string; baseUrl?: string; inputCostPerMillion?: number; outputCostPerMillion?: number } | undefined;
    const name = values.model ?? stored?.name ?? context.model.name;
    // Prices given on the command line of the first session still apply to the same model.
    const prices = stored && name === stored.name ? Object.fromEntries(Object.entries({ inputCostPerMillion: stored.inputCostPerMillion, outputCostPerMillion: stored.outputCostPerMillion }).filter(([, value]) => value !== undefined)) : {};
    const model = name ? { name, baseUrl: values["base-url"] ?? stored?.baseUrl ?? context.model.baseUrl, apiKey: context.model.apiKey, ...prices } : undefined;
    // A run started on the fleet resumes on it (re-attaching to its queued jobs) unless told otherwise.
    const fleet = config.metadata?.fleet as { queue?: string; tag?: string } | undefined;
    const composition = await composeForCli(context, { model, fleet: { queue: values.queue ?? fleet?.queue, tag: values.tag ?? fleet?.tag } });
    try {
      const platform = composition.platforms.get(config.platform);
      const availability = await platform.availability();
      if (!availability.available) throw new PlatformError("platform_unavailable", `platform '${platform.id}' is not available here: ${availability.reason ?? "no reason given"}`);
      const operatorId = (config.metadata?.operatorId as string | undefined) ?? config.operator;
      const seeds = config.seeds.map((seed) => seedFromSource(seed.name, seed.language, seed.source));
      const operator = composition.operators.get(operatorId).create({ spec: config.spec, platform, seeds });
      const policy = composition.policies.get(config.policy);
      const contextProvider: ContextProvider | undefined = operatorId === "autotune" ? undefined : await composition.contextProvider();
      const experience = await composition.experienceMemory();
      return await driveRun(context, values.json, (onEvent, signal) => resumeRun({ folder, platform, operator, policy, contextProvider, experience, onEvent, signal }));
    } finally {
      await composition.close();
    }
  },
});
