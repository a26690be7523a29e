import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadSpecFile } from "../../core/spec-loader.js";
import type { KernelSpec } from "../../core/spec.js";
import { RuntimeClient, type RuntimeClientOptions } from "../../platforms/runtime-client.js";

/** Paths and factories shared by the platform tests. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const FIXTURES = join(ROOT, "tests", "platforms", "fixtures");
export const FAKE_RUNTIME_PATH = join(FIXTURES, "fake-runtime");
export const REAL_RUNTIME_PATH = join(ROOT, "python");
export const PYTHON = existsSync(join(ROOT, ".venv", "bin", "python")) ? join(ROOT, ".venv", "bin", "python") : "python3";

/** The vector-add spec the platform tests evaluate. */
export function vectorAddSpec(): KernelSpec {
  return loadSpecFile(join(FIXTURES, "specs", "vector-add.yaml"));
}

/** A client of the fake runtime (tests/platforms/fixtures/fake-runtime). */
export function fakeClient(options: Partial<RuntimeClientOptions> = {}): RuntimeClient {
  return new RuntimeClient({ python: PYTHON, pythonPath: FAKE_RUNTIME_PATH, environment: { PATH: process.env.PATH }, shutdownGraceMs: 1000, ...options });
}

/** True when the real runtime package exists in python/ (it answers hello, checked by the tests themselves). */
export function realRuntimePresent(): boolean {
  return existsSync(join(REAL_RUNTIME_PATH, "kernelevolve_runtime", "__main__.py"));
}

/** Whether a process (group leader) still exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
