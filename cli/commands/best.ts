import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { z } from "zod";
import { RunDatabase } from "../../graphs/runs/run-database.js";
import { resolveRunFolder } from "../../graphs/runs/run-paths.js";
import { EXIT_CODES, defineCommand } from "../command.js";
import { COMMON_OPTIONS, RUN_ARGUMENT, option, optionsHelp, parseCommandLine } from "../options.js";

const options = {
  output: option(z.string().min(1).optional().describe("Write the kernel to this file instead of printing it"), "FILE", { short: "o" }),
  json: option(COMMON_OPTIONS.json.schema.describe("Print the candidate with its evaluation as JSON instead")),
};

const usage = `
Usage: kernelevolve best <run> [-o FILE] [--json]

Prints the best correct kernel of a run, or writes it to FILE. <run> is a run id, a unique
prefix, 'latest', or a run folder.

Options:
${optionsHelp(options)}
`;

export default defineCommand({
  name: "best",
  summary: "Write out the best kernel of a run",
  usage,
  async run(argv, context) {
    const parsed = parseCommandLine(argv, options, usage, RUN_ARGUMENT);
    const db = RunDatabase.open(resolveRunFolder(context.runsDirectory, parsed.positionals[0]));
    try {
      const run = db.run();
      const best = run.bestCandidateId ? db.candidate(run.bestCandidateId) : undefined;
      if (!best) {
        context.stderr.write(`run ${run.id} has no correct kernel yet (${db.totals().failed} failed candidates)\n`);
        return EXIT_CODES.candidateFailed;
      }
      if (parsed.values.json) {
        context.stdout.write(`${JSON.stringify({ ...best, speedup: best.fitness })}\n`);
      } else if (parsed.values.output) {
        const path = resolve(context.cwd, parsed.values.output);
        writeFileSync(path, best.source);
        context.stderr.write(`wrote ${best.id} (${best.fitness.toFixed(2)}x, ${best.strategy ?? best.operator}) to ${path}\n`);
      } else {
        context.stdout.write(best.source.endsWith("\n") ? best.source : `${best.source}\n`);
      }
      return EXIT_CODES.ok;
    } finally {
      db.close();
    }
  },
});
