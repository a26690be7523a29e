import { parseArgs } from "node:util";
import { UserError } from "../../core/errors.js";
import { resolveRunFolder } from "../../graphs/runs/run-paths.js";
import { writeRunReport } from "../../graphs/runs/report/write-report.js";
import { defineCommand } from "../command.js";

const usage = `
Usage: kernelevolve report <run>

Writes report.md and a self-contained report.html (lineage tree, best speed-up over time, the
best kernel, every candidate, the retrieved chunks of each prompt) into the run folder.
<run> is a run id, a unique prefix, 'latest', or a run folder.
`;

export default defineCommand({
  name: "report",
  summary: "Write a run's report (markdown and HTML with lineage and speed-up charts)",
  usage,
  async run(argv, context) {
    let parsed;
    try {
      parsed = parseArgs({ args: argv, allowPositionals: true, options: {} });
    } catch (error) {
      throw new UserError("bad_usage", `${(error as Error).message}\n${usage.trim()}`);
    }
    if (parsed.positionals.length !== 1) throw new UserError("bad_usage", `expected one run id or folder\n${usage.trim()}`);
    const paths = writeRunReport(resolveRunFolder(context.runsDirectory, parsed.positionals[0]));
    context.stdout.write(`wrote ${paths.markdown}\nwrote ${paths.html}\n`);
    return 0;
  },
});
