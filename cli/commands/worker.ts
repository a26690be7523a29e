import { z } from "zod";
import { PlatformError, UserError } from "../../core/errors.js";
import { parseQueueUrl, redactUrl } from "../../platforms/queue/connection.js";
import { startFleetWorker } from "../../platforms/queue/fleet-worker.js";
import { checkName } from "../../platforms/queue/names.js";
import { EXIT_CODES, defineCommand } from "../command.js";
import { openCliComposition } from "../context.js";
import { option, optionsHelp, parseCommandLine } from "../options.js";
import { onProcessStop } from "../process-lifetime.js";

const positive = z.number().int().min(1).optional();
const options = {
  queue: option(z.string().min(1).optional().describe("Redis URL (required)"), "URL"),
  platform: option(z.string().min(1).default("cpu").describe("Platform whose jobs it serves: cpu, cuda, triton or a plugin's (default cpu)"), "ID"),
  tag: option(z.string().min(1).optional().describe("Hardware tag it serves, e.g. h100 (default: jobs that name no tag)"), "TAG"),
  concurrency: option(positive.describe("Jobs at once (default: the platform's capacity)"), "N"),
  id: option(z.string().regex(/^[A-Za-z0-9_-]+$/).optional().describe("Worker id in the fleet view (default: host-pid-random)"), "NAME", { expects: "letters, digits, '-' or '_'" }),
  lockMs: option(positive.describe("Job lock; a worker silent this long is presumed dead (default 30000)"), "MS"),
  stalledMs: option(positive.describe("How often to look for jobs of dead workers (default 30000)"), "MS"),
  maxStalled: option(z.number().int().min(0).optional().describe("Worker deaths a job may cause before it fails as worker_crash (default 1)"), "N"),
  heartbeatMs: option(positive.describe("Registration refresh period; it expires after 3 periods (default 5000)"), "MS"),
  journal: option(z.string().min(1).optional().describe("Append one JSON line per job event (started, completed, failed)"), "FILE"),
};

const usage = `
Usage: kernelevolve worker --queue redis://HOST:PORT --platform ID [options]

Serves evaluation jobs from the fleet queue of one platform and hardware tag (BullMQ on Redis) with
this machine's local runtime, as 'optimize' would evaluate them here. It registers its hardware
profile (a heartbeat key with a TTL), so orchestrators size their work by the live workers.
SIGTERM or Ctrl-C drains: the jobs in hand finish, no new ones are taken, then it exits 0.
A worker killed outright (kill -9, power loss) loses nothing: its job's lock expires and another
worker takes the job.

Options:
${optionsHelp(options)}

Exit codes: 0 drained, 2 bad usage, 3 the platform is not available here.
`;

export default defineCommand({
  name: "worker",
  summary: "Serve evaluation jobs of the fleet queue (BullMQ on Redis) with this machine's runtime",
  usage,
  async run(argv, context) {
    const { values } = parseCommandLine(argv, options, usage);
    if (!values.queue) throw new UserError("bad_usage", `--queue is required, e.g. --queue redis://localhost:6379\n${usage.trim()}`);
    const url = parseQueueUrl(values.queue);
    const platformId = checkName("platform", values.platform);
    const tag = values.tag !== undefined ? checkName("tag", values.tag) : undefined;
    const settings = { concurrency: values.concurrency, lockDurationMs: values.lockMs, stalledIntervalMs: values.stalledMs, heartbeatMs: values.heartbeatMs, maxStalledCount: values.maxStalled };

    const composition = await openCliComposition(context, { fleet: false });
    try {
      const platform = composition.platforms.get(platformId);
      const availability = await platform.availability();
      if (!availability.available) throw new PlatformError("platform_unavailable", `platform '${platform.id}' is not available here: ${availability.reason ?? "no reason given"}`);
      const handle = await startFleetWorker({
        url,
        platform,
        tag,
        id: values.id,
        journal: values.journal,
        ...settings,
        log: (line) => context.stdout.write(`${line}\n`),
      });
      context.stdout.write(`(queue ${redactUrl(url)}; SIGTERM or Ctrl-C drains and exits)\n`);
      await new Promise<void>((resolve) => {
        let unsubscribe = () => {};
        const stop = (why: string) => {
          unsubscribe();
          process.off("SIGINT", onInt);
          context.stdout.write(`${why}: draining worker ${handle.id} (finishing ${handle.registration().active} job(s), taking no new ones)\n`);
          handle.drain().then(resolve, resolve);
        };
        const onInt = () => stop("SIGINT");
        // SIGTERM and SIGHUP reach us through the CLI's process lifetime (cli/process-lifetime.ts).
        unsubscribe = onProcessStop((reason) => stop(reason)) as () => void;
        process.on("SIGINT", onInt);
      });
      const done = handle.registration();
      context.stdout.write(`worker ${handle.id} drained after ${done.processed} job(s) (${done.failed} failed)\n`);
      return EXIT_CODES.ok;
    } finally {
      await composition.close();
    }
  },
});
