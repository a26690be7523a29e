import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { PlatformError } from "../../core/errors.js";
import { minimalEnvironment } from "../../platforms/index.js";

/** One line of `python -m kernelevolve_runtime.kernelbench import`: a spec, or why the problem could not be imported. */
export interface ImportRecord {
  file: string;
  number: number | null;
  ok: boolean;
  spec?: Record<string, unknown>;
  reason?: string;
  error?: string;
}

export interface ImportOptions {
  python: string;
  pythonPath: string;
  path: string;
  level?: number;
  problems?: string;
  scale: string;
  signal?: AbortSignal;
}

/** Streams the imported problems of a folder from the Python importer, one record per problem file, in problem order. */
export async function* importProblems(options: ImportOptions): AsyncGenerator<ImportRecord> {
  const args = ["-m", "kernelevolve_runtime.kernelbench", "import", "--path", options.path, "--scale", options.scale];
  if (options.level !== undefined) args.push("--level", String(options.level));
  if (options.problems) args.push("--problems", options.problems);
  const child = spawn(options.python, args, { env: minimalEnvironment({ PYTHONPATH: options.pythonPath }), stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-4000); });
  const exited = new Promise<number>((resolve, reject) => {
    child.on("error", (error) => reject(new PlatformError("python_start", `cannot start ${options.python}: ${error.message}`)));
    child.on("close", (code) => resolve(code ?? 1));
  });
  const stop = () => child.kill("SIGKILL");
  options.signal?.addEventListener("abort", stop, { once: true });
  try {
    for await (const line of createInterface({ input: child.stdout })) {
      if (line.trim()) yield JSON.parse(line) as ImportRecord;
    }
    const code = await exited;
    if (code !== 0) throw new PlatformError("kernelbench_import", `the KernelBench importer failed (exit ${code}): ${stderr.trim().split("\n").at(-1) ?? ""}`);
  } finally {
    options.signal?.removeEventListener("abort", stop);
    if (child.exitCode === null) child.kill("SIGKILL");
  }
}
