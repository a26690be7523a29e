import { spawn } from "node:child_process";
import { PlatformError } from "../core/errors.js";

export interface PythonCommandOptions {
  /** The Python executable (the project's virtual environment). */
  python: string;
  /** Folder placed on PYTHONPATH (the repository's python/). */
  pythonPath: string;
  cwd?: string;
  timeoutMs?: number;
  /** Extra environment; nothing else of the parent's environment is passed but PATH, HOME and locale. */
  env?: Record<string, string>;
  /** Called with each stderr line (progress). */
  onStderrLine?: (line: string) => void;
  signal?: AbortSignal;
}

/** Environment variables that are safe to hand to a Python subprocess (no keys, no tokens). */
export function minimalEnvironment(extra: Record<string, string> = {}, parent: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const key of ["PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "CUDA_VISIBLE_DEVICES", "TRITON_INTERPRET"]) {
    const value = parent[key];
    if (value !== undefined) environment[key] = value;
  }
  return { ...environment, PYTHONUNBUFFERED: "1", ...extra };
}

/**
 * Runs `python -m <module> <args...>` and parses the last line of stdout as JSON.
 * Used by the pipeline tools; a non-zero exit becomes a PlatformError carrying stderr's tail.
 */
export async function runPythonJson<T = unknown>(module: string, args: string[], options: PythonCommandOptions): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const child = spawn(options.python, ["-m", module, ...args], {
      cwd: options.cwd,
      env: minimalEnvironment({ PYTHONPATH: options.pythonPath, ...(options.env ?? {}) }),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    let pending = "";
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    };
    const timer = options.timeoutMs ? setTimeout(() => { kill(); reject(new PlatformError("python_timeout", `python -m ${module} timed out after ${options.timeoutMs} ms`)); }, options.timeoutMs) : undefined;
    const abort = () => { kill(); reject(new PlatformError("aborted", `python -m ${module} was stopped`)); };
    // The listener goes with the process: a later abort of a long-lived signal must not kill a reused process group.
    const settle = () => { if (timer) clearTimeout(timer); options.signal?.removeEventListener("abort", abort); };
    if (options.signal?.aborted) abort();
    else options.signal?.addEventListener("abort", abort, { once: true });
    child.stdout.on("data", (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on("data", (chunk: Buffer) => {
      const text = chunk.toString();
      stderr = (stderr + text).slice(-20000);
      if (options.onStderrLine) {
        pending += text;
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) options.onStderrLine(line);
      }
    });
    child.on("error", (error) => {
      settle();
      reject(new PlatformError("python_unavailable", `cannot start ${options.python}: ${error.message}. Run the setup (scripts/setup.sh) first.`, { cause: error }));
    });
    child.on("close", (code, signal) => {
      settle();
      if (code !== 0) {
        reject(new PlatformError("python_failed", `python -m ${module} ${args[0] ?? ""} failed (${signal ?? `exit ${code}`}):\n${stderr.trim().split("\n").slice(-15).join("\n")}`));
        return;
      }
      const lines = stdout.trim().split("\n").filter(Boolean);
      try {
        resolve(JSON.parse(lines[lines.length - 1] ?? "null") as T);
      } catch {
        reject(new PlatformError("python_bad_output", `python -m ${module} printed no JSON result:\n${stdout.slice(-2000)}`));
      }
    });
  });
}
