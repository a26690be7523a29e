import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Everything a command needs from the outside world, resolved once from argv/env by the CLI. */
export interface CliContext {
  /** Repository root (where seeds/ and python/ live). */
  root: string;
  /** Current working directory of the user. */
  cwd: string;
  /** Python executable of the runtime's virtual environment. */
  python: string;
  /** Folder put on PYTHONPATH for the runtime and the pipelines. */
  pythonPath: string;
  /** Where runs are written. */
  runsDirectory: string;
  /** Cache folder (compile cache, docs index). */
  cacheDirectory: string;
  /** Model settings, from the environment; undefined model means the offline default. */
  model: { name?: string; baseUrl?: string; apiKey?: string };
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Environment, read only by the CLI layer. */
  env: NodeJS.ProcessEnv;
  /** Plugin modules named by the global --plugin flag (cli/plugins.ts loads them). */
  pluginPaths?: string[];
}

/** The nearest folder above this module that holds package.json: from cli/ in a checkout, from dist/... in the build. */
function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (let folder = resolve(here, ".."); ; folder = dirname(folder)) {
    if (existsSync(join(folder, "package.json"))) return folder;
    if (dirname(folder) === folder) return resolve(here, "..");
  }
}

/** The repository (or installed package) root, where seeds/, docs/ and python/ are. */
export const REPOSITORY_ROOT = packageRoot();

/** Resolves the CLI context from the process environment (the only place that reads it). */
export function createCliContext(env: NodeJS.ProcessEnv = process.env, overrides: Partial<CliContext> = {}): CliContext {
  const root = REPOSITORY_ROOT;
  const venvPython = join(root, ".venv", "bin", "python");
  const python = env.KERNELEVOLVE_PYTHON ?? (existsSync(venvPython) ? venvPython : "python3");
  return {
    root,
    cwd: process.cwd(),
    python,
    pythonPath: join(root, "python"),
    runsDirectory: resolve(env.KERNELEVOLVE_RUNS ?? join(process.cwd(), "runs")),
    cacheDirectory: resolve(env.KERNELEVOLVE_CACHE ?? join(root, ".cache")),
    model: {
      name: env.KERNELEVOLVE_MODEL ?? (env.OPENAI_API_KEY ? env.OPENAI_MODEL : undefined),
      baseUrl: env.KERNELEVOLVE_BASE_URL ?? env.OPENAI_BASE_URL,
      apiKey: env.KERNELEVOLVE_API_KEY ?? env.OPENAI_API_KEY,
    },
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env,
    ...overrides,
  };
}
