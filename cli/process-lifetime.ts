/**
 * How the kernelevolve process meets the outside world ending it: a termination signal (SIGTERM,
 * SIGHUP) or a closed standard output (`kernelevolve runs | head -3`) asks the current work to stop
 * at once and cleanly (a run is recorded as stopped, never left `running`); a closed output is
 * otherwise silent (no EPIPE stack trace).
 */

type StopListener = (reason: string) => void;
const listeners = new Set<StopListener>();
let outputClosed = false;
let installed = false;

/** Subscribes to requests to stop (termination signals, closed stdout); returns the unsubscribe function. */
export function onProcessStop(listener: StopListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Whether standard output was closed by its reader. */
export function stdoutClosed(): boolean {
  return outputClosed;
}

function stop(reason: string): void {
  for (const listener of [...listeners]) listener(reason);
}

/** Installs the handlers once, for the real process (tests that call main() in-process skip this). */
export function installProcessLifetime(exit: (code: number) => void = (code) => process.exit(code)): void {
  if (installed) return;
  installed = true;
  const onStreamError = (stream: "stdout" | "stderr") => (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE" && error.code !== "ERR_STREAM_DESTROYED") throw error;
    if (stream === "stdout" && !outputClosed) {
      outputClosed = true;
      stop("stopped: its output was closed");
    }
  };
  process.stdout.on("error", onStreamError("stdout"));
  process.stderr.on("error", onStreamError("stderr"));
  for (const [signal, code] of [["SIGTERM", 143], ["SIGHUP", 129]] as const) {
    process.on(signal, () => {
      // Nobody is working on anything that needs a clean stop: leave as the signal asks.
      if (listeners.size === 0) exit(code);
      else stop(`stopped by ${signal}`);
    });
  }
}
