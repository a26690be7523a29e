import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { UserError } from "../../core/errors.js";
import { chunkSourceResolver } from "../../dashboard/server/chunk-sources.js";
import { isLoopback, startDashboardServer } from "../../dashboard/server/server.js";
import { defineCommand, EXIT_CODES } from "../command.js";
import { onProcessStop } from "../process-lifetime.js";

const usage = `
Usage: kernelevolve dashboard [--port N] [--host 127.0.0.1] [--runs DIR] [--queue redis://HOST:PORT]

Serves a web dashboard of the runs folder (KERNELEVOLVE_RUNS, default ./runs): the runs, each run's
lineage, candidates with their source, diff, verdict and prompt, charts, and the evaluation fleet
when --queue names its Redis. It reads the run databases read-only and updates live while runs go.

  --port N       port to listen on (default 8377; 0 picks a free one)
  --host ADDR    address to bind (default 127.0.0.1). Any non-loopback address requires the token
                 printed at start on every request.
  --runs DIR     runs folder to show (default: KERNELEVOLVE_RUNS or ./runs)
  --queue URL    the fleet's Redis (as given to 'kernelevolve worker'); without it the fleet panel
                 says no queue is configured
  --poll-ms N    how often to look for changes (default 500)
`;

function integer(name: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw new UserError("bad_usage", `--${name} expects an integer from ${min} to ${max}, got '${text}'`);
  return value;
}

export default defineCommand({
  name: "dashboard",
  summary: "Serve a live web dashboard of runs, lineages, prompts and the fleet",
  usage,
  async run(argv, context) {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        allowPositionals: false,
        options: {
          port: { type: "string" },
          host: { type: "string", default: "127.0.0.1" },
          runs: { type: "string" },
          queue: { type: "string" },
          "poll-ms": { type: "string" },
        },
      });
    } catch (error) {
      throw new UserError("bad_usage", `${(error as Error).message}\n${usage.trim()}`);
    }
    const { values } = parsed;
    const port = integer("port", values.port, 0, 65535) ?? 8377;
    const pollMs = integer("poll-ms", values["poll-ms"], 50, 60000);
    const host = values.host!;
    if (!host.trim()) throw new UserError("bad_usage", "--host must not be empty");
    const runsDirectory = values.runs ? resolve(values.runs) : context.runsDirectory;
    const queueUrl = values.queue ?? process.env.KERNELEVOLVE_QUEUE;

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
