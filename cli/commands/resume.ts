import { resumeModel, resumeRun, storedRunChoices } from "../../app/start-run.js";
import { ModelOptionsSchema } from "../../app/run-request.js";
import { resolveRunFolder } from "../../graphs/runs/run-paths.js";
import { defineCommand } from "../command.js";
import { openCliComposition } from "../context.js";
import { driveRun } from "../optimize-session.js";
import { COMMON_OPTIONS, RUN_ARGUMENT, option, optionsHelp, parseCommandLine } from "../options.js";

const options = {
  model: option(ModelOptionsSchema.shape.model.describe("Model for a run that used the LLM operator (default: the one it used)"), "NAME"),
  baseUrl: option(ModelOptionsSchema.shape.baseUrl.describe("Endpoint of that model"), "URL"),
  queue: option(COMMON_OPTIONS.queue.schema.describe("Evaluate through the fleet at this Redis (default: the fleet the run used, if any)"), "URL"),
  tag: COMMON_OPTIONS.tag,
  json: COMMON_OPTIONS.jsonEvents,
};

const usage = `
Usage: kernelevolve resume <run> [options]

Continues a stopped run (Ctrl-C, /stop, SIGTERM) or an interrupted one (kill -9, crash) from its
last checkpoint: candidates that were proposed but not evaluated are evaluated, finished ones are
kept, and the search goes on until its limits. <run> is a run id, a unique prefix of one, 'latest', or a run folder. A run that another
process is still working on is refused (one owner process per run).

Options:
${optionsHelp(options)}
`;

export default defineCommand({
  name: "resume",
  summary: "Continue a stopped or interrupted optimisation run",
  usage,
  async run(argv, context) {
    const { values, positionals } = parseCommandLine(argv, options, usage, RUN_ARGUMENT);
    const folder = resolveRunFolder(context.runsDirectory, positionals[0]);
    const stored = storedRunChoices(folder);
    if (stored.status === "completed") {
      context.stdout.write(`run ${positionals[0]} already completed; nothing to resume (see: kernelevolve report ${positionals[0]})\n`);
      return 0;
    }
    const model = resumeModel(stored.model, { name: values.model, baseUrl: values.baseUrl }, context.model);
    // A run started on the fleet resumes on it (re-attaching to its queued jobs) unless told otherwise.
    const composition = await openCliComposition(context, { model, fleet: { queue: values.queue ?? stored.fleet?.queue, tag: values.tag ?? stored.fleet?.tag } });
    try {
      return await driveRun(context, values.json, (onEvent, signal) => resumeRun(composition, folder, { onEvent, signal }));
    } finally {
      await composition.close();
    }
  },
});
