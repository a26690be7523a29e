import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repositoryRoot } from "../helpers/paths.js";
import { realRuntimePresent } from "../platforms/helpers.js";

// `kernelevolve chat` without a model, typed into a real pseudo-terminal (python3's pty module):
// the slash commands list specs, start a real run, follow it, list runs, call a plugin tool, quit.
const scratch = mkdtempSync(join(tmpdir(), "kernelevolve-chat-pty-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function drive(steps: object[], args: string[], environment: NodeJS.ProcessEnv): Promise<{ code: number; transcript: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      "python3",
      [join(repositoryRoot, "tests", "chat", "pty-drive.py"), JSON.stringify(steps), process.execPath, join(repositoryRoot, "bin", "kernelevolve.js"), ...args],
      { cwd: scratch, env: environment, timeout: 280_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, transcript: stdout, stderr }),
    );
  });
}

test("the offline chat session works in a real terminal", async () => {
  const environment: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TERM: "xterm", KERNELEVOLVE_RUNS: join(scratch, "runs"), KERNELEVOLVE_CACHE: join(scratch, "cache") };
  // Without the real runtime package the fake runtime stands in (see tests/cli/fixtures/fake-python).
  if (!realRuntimePresent()) environment.KERNELEVOLVE_PYTHON = join(repositoryRoot, "tests", "cli", "fixtures", "fake-python");
  const plugin = join(repositoryRoot, "examples", "plugin-with-tool-and-platform", "index.ts");
  const { code, transcript, stderr } = await drive(
    [
      { expect: "kernelevolve> ", timeout: 120 },
      { send: "/specs\r" },
      { expect: "vector-scale", timeout: 30 },
      { expect: "kernelevolve> " },
      { send: "/optimize row-sum-squares --budget 3 --size small\r" },
      { expect: "Started run ", timeout: 60 },
      { send: "/watch latest --wait 200\r" },
      { expect: ": completed", timeout: 220 },
      { expect: "kernelevolve> " },
      { send: "/runs\r" },
      { expect: "1 run(s)" },
      { send: '/call estimate_roofline {"flops": 100, "bytes": 800, "peak_gflops": 50, "bandwidth_gbs": 10}\r' },
      { expect: "memory-bound" },
      { send: "/nonsense\r" },
      { expect: "unknown command '/nonsense'" },
      { send: "make it faster\r" },
      { expect: "No model is configured" },
      { send: "/quit\r" },
      { expect: "Bye." },
    ],
    ["--plugin", plugin, "chat"],
    environment,
  );
  expect({ code, stderr: stderr.slice(-2000) }).toEqual({ code: 0, stderr: "" });
  expect(transcript).toContain("no model configured: slash commands only");
  expect(transcript).toMatch(/row-sum-squares +\(reduction/);
  expect(transcript).toMatch(/Started run (\d{8}-\d{6}-row-sum-squares-[0-9a-f]{4}): spec row-sum-squares on cpu, operator autotune, policy greedy, budget 3 candidates/);
  const runId = /Started run (\S+):/.exec(transcript)![1];
  // Progress arrived in the terminal while the run went on, then the watch showed the end state.
  expect(transcript).toContain(`[run ${runId}] ended completed`);
  expect(transcript).toMatch(new RegExp(`Run ${runId}: completed \\(budget[^)]*\\)\\n  spec row-sum-squares on cpu[^\\n]*\\n  candidates 3/3: `));
  expect(transcript).toMatch(new RegExp(`${runId}  row-sum-squares  cpu  completed  3 candidates  best \\d+\\.\\d\\dx`));
}, 300_000);
