import { resolveRunFolder } from "../../graphs/runs/run-paths.js";
import { writeRunReport } from "../../graphs/runs/report/write-report.js";
import { defineCommand } from "../command.js";
import { RUN_ARGUMENT, parseCommandLine } from "../options.js";

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
    const parsed = parseCommandLine(argv, {}, usage, RUN_ARGUMENT);
    const paths = writeRunReport(resolveRunFolder(context.runsDirectory, parsed.positionals[0]));
    context.stdout.write(`wrote ${paths.markdown}\nwrote ${paths.html}\n`);
    return 0;
  },
});
