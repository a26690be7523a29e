import { afterAll, expect, test } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repositoryRoot } from "../helpers/paths.js";
import { realRuntimePresent } from "../platforms/helpers.js";

// Specs from outside seeds/ optimised offline (autotune operator) from seeds that ship with them:
// a plugin's `seeds` folders, and a `seeds/` folder beside a spec file.
const scratch = mkdtempSync(join(tmpdir(), "kernelevolve-plugin-seeds-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const fixture = join(repositoryRoot, "tests", "plugins", "fixtures", "with-seeds");
const quick = ["--budget", "4", "--size", "tiny", "--trials", "1", "--min-time-ms", "10", "--json"];

function cli(args: string[], cwd: string) {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, KERNELEVOLVE_RUNS: join(scratch, "runs"), KERNELEVOLVE_CACHE: join(scratch, "cache") };
  if (!realRuntimePresent()) env.KERNELEVOLVE_PYTHON = join(repositoryRoot, "tests", "cli", "fixtures", "fake-python");
  const result = spawnSync(process.execPath, [join(repositoryRoot, "bin", "kernelevolve.js"), ...args], { cwd, env, encoding: "utf8", timeout: 280_000 });
  const events = result.stdout.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line));
  return { ...result, events };
}

function checkAutotuned(events: Record<string, any>[]) {
  const started = events.filter((event) => event.type === "candidate-start");
  // The baseline and the template's default instance, then autotuned instances of the template.
  expect(started.slice(0, 2).map((event) => event.strategy)).toEqual(["seed: baseline", "seed: template (default instance)"]);
  expect(started.length).toBe(4);
  expect(events.at(-1)).toMatchObject({ type: "run-end", status: "completed", reason: "budget" });
  expect(events.at(-1)!.progress.passed).toBeGreaterThanOrEqual(3);
}

test("a plugin's seed folders make its spec optimisable offline", () => {
  const result = cli(["--plugin", join(fixture, "index.ts"), "optimize", "vector-halve", ...quick], scratch);
  expect(result.status).toBe(0);
  checkAutotuned(result.events);
}, 300_000);

test("a spec file finds its seeds in a seeds/ folder beside it", () => {
  const folder = join(scratch, "my-specs");
  mkdirSync(join(folder, "seeds", "cpu"), { recursive: true });
  cpSync(join(fixture, "specs", "vector-halve.yaml"), join(folder, "vector-halve.yaml"));
  cpSync(join(fixture, "kernels", "cpu", "vector-halve"), join(folder, "seeds", "cpu", "vector-halve"), { recursive: true });
  const byPath = cli(["optimize", join(folder, "vector-halve.yaml"), ...quick], scratch);
  expect(byPath.status).toBe(0);
  checkAutotuned(byPath.events);
  const byFolder = cli(["optimize", "vector-halve", "--specs-dir", folder, ...quick], scratch);
  expect(byFolder.status).toBe(0);
  checkAutotuned(byFolder.events);
}, 300_000);
