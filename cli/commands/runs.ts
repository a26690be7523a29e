import { join } from "node:path";
import { z } from "zod";
import { RunDatabase } from "../../graphs/runs/run-database.js";
import { listRunIds } from "../../graphs/runs/run-paths.js";
import { defineCommand } from "../command.js";
import { COMMON_OPTIONS, option, optionsHelp, parseCommandLine } from "../options.js";
import { formatDuration } from "../progress.js";

const options = {
  limit: option(z.number().int().min(1).optional().describe("Most runs to list (default: all)"), "N"),
  json: option(COMMON_OPTIONS.json.schema.describe("The list as one JSON array")),
};

const usage = `
Usage: kernelevolve runs [--json] [--limit N]

Lists the runs in the runs folder (KERNELEVOLVE_RUNS, default ./runs), newest first.

Options:
${optionsHelp(options)}
`;

export default defineCommand({
  name: "runs",
  summary: "List optimisation runs",
  usage,
  async run(argv, context) {
    const parsed = parseCommandLine(argv, options, usage);
    const limit = parsed.values.limit ?? Number.POSITIVE_INFINITY;
    const rows = listRunIds(context.runsDirectory)
      .slice(0, limit)
      .map((id) => {
        const db = RunDatabase.open(join(context.runsDirectory, id));
        try {
          const run = db.run();
          const totals = db.totals();
          return {
            id: run.id,
            spec: run.specId,
            platform: run.platform,
            operator: run.operator,
            policy: run.policy,
            status: run.status,
            reason: run.terminationReason ?? null,
            candidates: totals.candidates,
            passed: totals.passed,
            failed: totals.failed,
            bestCandidateId: run.bestCandidateId ?? null,
            bestSpeedup: run.bestFitness,
            activeSeconds: run.activeMs / 1000,
            createdAt: new Date(run.createdAt).toISOString(),
          };
        } finally {
          db.close();
        }
      });
    if (parsed.values.json) {
      context.stdout.write(`${JSON.stringify(rows)}\n`);
      return 0;
    }
    if (rows.length === 0) {
      context.stdout.write(`no runs in ${context.runsDirectory} (start one with: kernelevolve optimize <spec>)\n`);
      return 0;
    }
    const table = [
      ["RUN", "SPEC", "STATUS", "CANDIDATES", "BEST", "TIME"],
      ...rows.map((row) => [
        row.id,
        row.spec,
        row.reason ? `${row.status} (${row.reason})` : row.status,
        `${row.candidates} (${row.failed} failed)`,
        row.bestSpeedup > 0 ? `${row.bestSpeedup.toFixed(2)}x` : "-",
        formatDuration(row.activeSeconds * 1000),
      ]),
    ];
    const widths = table[0].map((_, column) => Math.max(...table.map((row) => row[column].length)));
    for (const row of table) context.stdout.write(`${row.map((cell, column) => cell.padEnd(widths[column])).join("  ").trimEnd()}\n`);
    return 0;
  },
});
