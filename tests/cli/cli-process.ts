import { spawnSync } from "node:child_process";
import { Writable } from "node:stream";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Helpers that run the real CLI as a child process (bin/kernelevolve.js), as a user would. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const FAKE_PYTHON = join(ROOT, "tests", "cli", "fixtures", "fake-python");

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `kernelevolve <args>` with a clean environment plus `env`, from `cwd` (default: the repository). */
export function runCli(args: string[], env: Record<string, string> = {}, cwd = ROOT): CliRun {
  const result = spawnSync(process.execPath, [join(ROOT, "bin", "kernelevolve.js"), ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...env },
    encoding: "utf8",
    timeout: 120_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs `kernelevolve <args>` inside this process through main(), capturing its output (fast; same code path after argv). */
export async function runCliInProcess(args: string[], env: Record<string, string> = {}, cwd = ROOT): Promise<CliRun> {
  const { main } = await import("../../cli/main.js");
  const { createCliContext } = await import("../../cli/context.js");
  let stdout = "";
  let stderr = "";
  const sink = (append: (text: string) => void) =>
    new Writable({
      write(chunk: Buffer | string, _encoding, callback) {
        append(chunk.toString());
        callback();
      },
    });
  const context = createCliContext(
    { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    { cwd, stdout: sink((text) => (stdout += text)), stderr: sink((text) => (stderr += text)) },
  );
  const status = await main(args, context);
  return { status, stdout, stderr };
}
