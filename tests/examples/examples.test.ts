import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repositoryRoot } from "../helpers/paths.js";
import { realRuntimePresent } from "../platforms/helpers.js";

// Each example runs as a user would run it (tsx, its own process), and its output is checked.
const scratch = mkdtempSync(join(tmpdir(), "kernelevolve-examples-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const tsx = createRequire(import.meta.url).resolve("tsx/cli");

function runExample(file: string, args: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  const environment: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, KERNELEVOLVE_RUNS: join(scratch, "runs"), KERNELEVOLVE_THREAD: "examples-test" };
  // Without the real runtime package the fake runtime stands in (see tests/cli/fixtures/fake-python).
  if (!realRuntimePresent()) environment.KERNELEVOLVE_PYTHON = join(repositoryRoot, "tests", "cli", "fixtures", "fake-python");
  return new Promise((resolve) => {
    execFile(process.execPath, [tsx, join(repositoryRoot, "examples", file), ...args], { cwd: scratch, env: environment, timeout: 240_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test("scripted-run.ts streams a run's events and prints the best kernel", async () => {
  const { code, stdout, stderr } = await runExample("scripted-run.ts", ["row-sum-squares", "4"]);
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  expect(stdout).toMatch(/^run \S+-row-sum-squares-[0-9a-f]{4}: row-sum-squares on cpu \(autotune, greedy\)$/m);
  expect(stdout.match(/^\[\d\/4\] c000\d (passed|failed)/gm)?.length).toBe(4);
  expect(stdout).toMatch(/^status completed \(budget\); \d\/4 passed$/m);
  expect(stdout).toMatch(/^best c000\d: \d+\.\d\dx, .*\/kernels\/c000\d\.cpp$/m);
}, 250_000);

test("scripted-chat.ts runs a whole offline conversation, the plugin tool included", async () => {
  const { code, stdout, stderr } = await runExample("scripted-chat.ts");
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  expect(stdout).toContain("you> /specs");
  expect(stdout).toMatch(/^rmsnorm +\(normalization/m);
  expect(stdout).toMatch(/arithmetic intensity: 0\.500 flop\/byte/);
  expect(stdout).toMatch(/Started run (\S+-rmsnorm-[0-9a-f]{4}): spec rmsnorm on cpu/);
  expect(stdout).toMatch(/Run \S+-rmsnorm-[0-9a-f]{4}: completed \(budget\)/);
  expect(stdout).toContain('extern "C" void kernel');
}, 250_000);
