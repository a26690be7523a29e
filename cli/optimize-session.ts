import type { OptimizeEvent } from "../graphs/evolve/events.js";
import type { OptimizeResult } from "../graphs/evolve/optimize.js";
import { EXIT_CODES } from "./command.js";
import type { CliContext } from "./context.js";
import { ProgressRenderer, formatDuration } from "./progress.js";
import { onProcessStop, stdoutClosed } from "./process-lifetime.js";

/**
 * Runs optimize() or resumeRun() with live progress and stop handling: Ctrl-C, SIGTERM, SIGHUP or a
 * closed output stop the run at once (in-flight work is abandoned and stays pending), recording it
 * as `stopped` so `resume` continues it; a second Ctrl-C quits without waiting. Prints where the
 * results are. Returns the exit code: 0 with a correct kernel, 1 without one, 130 when stopped
 * (143 by SIGTERM, 129 by SIGHUP), 5 when the model kept failing.
 */
export async function driveRun(
  context: CliContext,
  json: boolean,
  start: (onEvent: (event: OptimizeEvent) => void, signal: AbortSignal) => Promise<OptimizeResult>,
): Promise<number> {
  const renderer = new ProgressRenderer(context.stdout, json ? "json" : context.stdout.isTTY ? "tty" : "plain");
  const controller = new AbortController();
  const interrupt = () => {
    if (controller.signal.aborted) process.exit(EXIT_CODES.interrupted);
    context.stderr.write("\nstopping (press Ctrl-C again to quit at once)...\n");
    controller.abort("stopped by Ctrl-C");
  };
  process.on("SIGINT", interrupt);
  const unsubscribe = onProcessStop((reason) => {
    if (!controller.signal.aborted) controller.abort(reason);
  });
  let result: OptimizeResult;
  try {
    result = await start((event) => {
      if (!stdoutClosed()) renderer.handle(event);
    }, controller.signal);
  } finally {
    process.off("SIGINT", interrupt);
    unsubscribe();
  }
  if (!json && !stdoutClosed()) {
    const id = result.runId;
    if (result.best) context.stdout.write(`best kernel: ${result.folder}/${result.best.kernelPath} (${result.best.fitness.toFixed(2)}x)\n`);
    if (result.status === "stopped" || result.status === "interrupted") context.stdout.write(`continue with: kernelevolve resume ${id}\n`);
    context.stdout.write(`report: kernelevolve report ${id}   best: kernelevolve best ${id} -o kernel.cpp   (${formatDuration(result.timings.wallMs)} this session)\n`);
  }
  if (result.status === "stopped" || result.status === "interrupted") {
    const reason = String(controller.signal.reason ?? "");
    return reason.includes("SIGTERM") ? 143 : reason.includes("SIGHUP") ? 129 : EXIT_CODES.interrupted;
  }
  return result.best && result.best.fitness > 0 ? EXIT_CODES.ok : EXIT_CODES.candidateFailed;
}
