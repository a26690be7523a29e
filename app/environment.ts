import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Where KernelEvolve finds its runtime and writes its files; the CLI fills it from the environment, the library from options. */
export interface AppEnvironment {
  /** Repository (or installed package) root, where seeds/, docs/ and python/ are. */
  root: string;
  /** The user's folder: spec paths resolve here. */
  cwd: string;
  /** Python executable of the runtime. */
  python: string;
  /** Folder put on PYTHONPATH for the runtime and the pipelines. */
  pythonPath: string;
  /** Where runs are written. */
  runsDirectory: string;
  /** Cache folder (compile cache, docs index, experience memory). */
  cacheDirectory: string;
}

/** The nearest folder above this module that holds package.json: from app/ in a checkout, from dist/... in the build. */
function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (let folder = resolve(here, ".."); ; folder = dirname(folder)) {
    if (existsSync(join(folder, "package.json"))) return folder;
    if (dirname(folder) === folder) return resolve(here, "..");
  }
}

/** The repository (or installed package) root, where seeds/, docs/ and python/ are. */
export const REPOSITORY_ROOT = packageRoot();

/**
 * The environment named by variables (KERNELEVOLVE_PYTHON, KERNELEVOLVE_RUNS, KERNELEVOLVE_CACHE);
 * the caller passes them (the CLI and the benchmarks their process's), this module reads none itself.
 */
export function environmentFromVariables(variables: Record<string, string | undefined>, cwd: string): AppEnvironment {
  return resolveEnvironment({ cwd, python: variables.KERNELEVOLVE_PYTHON, runsDirectory: variables.KERNELEVOLVE_RUNS, cacheDirectory: variables.KERNELEVOLVE_CACHE });
}

/**
 * Fills in an environment from what the caller chose; relative folders resolve against cwd. The
 * default Python is the repository's .venv, else python3; runs go to <cwd>/runs, the cache to <root>/.cache.
 * @example const environment = resolveEnvironment({ cwd: process.cwd(), python: env.KERNELEVOLVE_PYTHON });
 */
export function resolveEnvironment(choices: Partial<Omit<AppEnvironment, "root" | "pythonPath">> = {}): AppEnvironment {
  const root = REPOSITORY_ROOT;
  const cwd = resolve(choices.cwd ?? ".");
  const venvPython = join(root, ".venv", "bin", "python");
  return {
    root,
    cwd,
    python: choices.python ?? (existsSync(venvPython) ? venvPython : "python3"),
    pythonPath: join(root, "python"),
    runsDirectory: resolve(cwd, choices.runsDirectory ?? "runs"),
    cacheDirectory: resolve(cwd, choices.cacheDirectory ?? join(root, ".cache")),
  };
}
