import { join, resolve } from "node:path";
import { z } from "zod";
import { UserError } from "../../core/errors.js";
import { chunkSourceResolver } from "../../dashboard/server/chunk-sources.js";
import { isLoopback, startDashboardServer } from "../../dashboard/server/server.js";
import { defineCommand, EXIT_CODES } from "../command.js";
import { option, optionsHelp, parseCommandLine } from "../options.js";
import { onProcessStop } from "../process-lifetime.js";

const options = {
  port: option(z.number().int().min(0).max(65535).default(8377).describe("Port to listen on (default 8377; 0 picks a free one)"), "N"),
  host: option(z.string().trim().min(1, "must not be empty").default("127.0.0.1").describe("Address to bind (default 127.0.0.1); any non-loopback address requires the token printed at start on every request"), "ADDR"),
  runs: option(z.string().min(1).optional().describe("Runs folder to show (default: KERNELEVOLVE_RUNS or ./runs)"), "DIR"),
  queue: option(z.string().min(1).optional().describe("The fleet's Redis (as given to 'kernelevolve worker'); without it the fleet panel says no queue is configured"), "URL"),
  pollMs: option(z.number().int().min(50).max(60000).optional().describe("How often to look for changes, in ms (default 500)"), "N"),
};

const usage = `
Usage: kernelevolve dashboard [--port N] [--host 127.0.0.1] [--runs DIR] [--queue redis://HOST:PORT]

Serves a web dashboard of the runs folder (KERNELEVOLVE_RUNS, default ./runs): the runs, each run's
lineage, candidates with their source, diff, verdict and prompt, charts, and the evaluation fleet
when --queue names its Redis. It reads the run databases read-only and updates live while runs go.

Options:
${optionsHelp(options)}
`;

export default defineCommand({
  name: "dashboard",
  summary: "Serve a live web dashboard of runs, lineages, prompts and the fleet",
  usage,
  async run(argv, context) {
    const { values } = parseCommandLine(argv, options, usage);
    const { port, host, pollMs } = values;
    const runsDirectory = values.runs ? resolve(context.cwd, values.runs) : context.runsDirectory;
    const queueUrl = values.queue ?? context.env.KERNELEVOLVE_QUEUE;

    let server;
    try {
      server = await startDashboardServer({
        runsDirectory,
        distDirectory: join(context.root, "dashboard", "dist"),
        host,
        port,
        pollMs,
        queueUrl,
        resolveChunk: chunkSourceResolver([join(context.root, "seeds", "docs")], context.root),
      });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EADDRINUSE") throw new UserError("bad_usage", `port ${port} is in use on ${host}: pick another with --port (0 picks a free one)`);
      if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND") throw new UserError("bad_usage", `cannot bind ${host}: not an address of this machine`);
      if (error instanceof UserError) throw error;
      throw new UserError("dashboard_not_built", (error as Error).message);
    }
    context.stdout.write(`dashboard of ${runsDirectory}\n`);
    context.stdout.write(`open ${server.openUrl}\n`);
    if (!isLoopback(host)) context.stdout.write(`bound to ${host}: every request needs the token ${server.token} (in the address above; keep it private)\n`);
    context.stdout.write("(read-only; Ctrl-C stops it)\n");
    await new Promise<void>((resolveStop) => {
      let unsubscribe = () => {};
      const stop = () => {
        unsubscribe();
        process.off("SIGINT", stop);
        resolveStop();
      };
      unsubscribe = onProcessStop(stop) as () => void;
      process.on("SIGINT", stop);
    });
    await server.close();
    return EXIT_CODES.ok;
  },
});
