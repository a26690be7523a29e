import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compose, type Composition } from "../../app/composition.js";
import { KernelActionService } from "../../app/kernel-actions.js";
import { openKernelChat, type KernelChat } from "../../app/chat-session.js";
import { runSlashCommand } from "../../app/slash-commands.js";
import { createKernelTools } from "../../tools/kernel-tools.js";
import { repositoryRoot } from "../helpers/paths.js";

// Hermetic: the fake runtime judges every candidate (2.00x), so these tests check the actions, the
// views and the error texts, not kernel speed.
const scratch = mkdtempSync(join(tmpdir(), "kernelevolve-actions-"));
let composition: Composition;
let actions: KernelActionService;
let chat: KernelChat;
let finishedRunId = "";

beforeAll(async () => {
  composition = await compose({
    root: repositoryRoot,
    cwd: scratch,
    python: join(repositoryRoot, "tests", "cli", "fixtures", "fake-python"),
    pythonPath: join(repositoryRoot, "python"),
    runsDirectory: join(scratch, "runs"),
    cacheDirectory: join(scratch, "cache"),
  });
  actions = new KernelActionService(composition, { evaluation: { trials: 1 } });
  chat = await openKernelChat({ composition, runs: { evaluation: { trials: 1 } } });
});
afterAll(async () => {
  await actions?.close();
  await chat?.close();
  await composition?.close();
  rmSync(scratch, { recursive: true, force: true });
});

test("a finished run has a report, a best kernel and a comparison with its baseline", async () => {
  const { runId } = await actions.startOptimization({ spec: "rmsnorm", budget: 5, sizes: ["small"] });
  finishedRunId = runId;
  await actions.waitForRun(runId);
  const report = await actions.showReport(runId);
  expect(report).toMatch(new RegExp(`^Run ${runId}: completed \\(budget\\)`));
  expect(report).toMatch(/Best candidates:\n  1\. c000\d 2\.00x generation \d/);
  expect(report).toMatch(/Best speed-up over time:\n  \+\d+\.\d s  2\.00x  c0001/);
  expect(report).toMatch(new RegExp(`Full report: \\S+/${runId}/report\\.md and \\S+/${runId}/report\\.html$`));
  const comparison = await actions.compareKernels({ runId, second: "c0005" });
  expect(comparison).toMatch(/^First  \(run \S+\) c0001: passed/);
  expect(comparison).toMatch(/Second \(run \S+\) c0005: passed/);
  expect(comparison).toMatch(/Changed lines: \d+ added, \d+ removed/);
  expect(await actions.showKernel(runId)).toMatch(/^Run \S+, c0001: passed, fitness 2\.00x[\s\S]*```cpp\n[\s\S]*extern "C" void kernel/);
}, 60_000);

test("stop_run stops a run started in this session and says how to resume", async () => {
  const { runId } = await actions.startOptimization({ spec: "row-sum-squares", budget: 500, sizes: ["small"] });
  const stopped = await actions.stopRun(runId);
  expect(stopped).toMatch(new RegExp(`^Stopped run ${runId}\\.\\nRun ${runId}: stopped \\(stopped from the chat\\)`));
  expect(stopped).toContain(`kernelevolve resume ${runId}`);
  expect(await actions.stopRun(runId)).toBe(`Run ${runId} is not running in this session (status: stopped); nothing to stop.`);
}, 60_000);

test("tools answer recoverable mistakes with text that says what exists", async () => {
  const tools = new Map(createKernelTools(actions).map((tool) => [tool.name, tool]));
  expect(await tools.get("explain_spec")!.invoke({ spec: "rms" })).toMatch(/^Error \(unknown_spec\): no spec named 'rms'\. Did you mean 'rmsnorm'\?/);
  expect(await tools.get("watch_run")!.invoke({ run_id: "no-such-run" })).toMatch(/^Error \(run_not_found\): no run 'no-such-run' in .*Recent: /);
  expect(await tools.get("start_optimization")!.invoke({ spec: "rmsnorm", sizes: ["huge"] })).toBe("Error (unknown_size): spec 'rmsnorm' has no size huge. Available: small, medium, large");
  expect(await tools.get("start_optimization")!.invoke({ spec: "rmsnorm", operator: "llm" })).toMatch(/^Error \(no_model\): operator 'llm' needs a model/);
  expect(await tools.get("show_kernel")!.invoke({ run_id: finishedRunId, candidate_id: "c9999" })).toMatch(/^Error \(no_candidate\): run \S+ has no candidate 'c9999'\. It has c0001 to c0005; or use 'best' or 'baseline'$/);
});

test("slash commands report usage mistakes instead of failing", async () => {
  expect((await runSlashCommand(chat, "/explain")).output).toBe("usage: /explain <spec>");
  expect((await runSlashCommand(chat, "/optimize rmsnorm --budget zero")).output).toBe("--budget expects a positive integer, got 'zero'");
  expect((await runSlashCommand(chat, "/optimize rmsnorm --colour blue")).output).toMatch(/Unknown option '--colour'/);
  expect((await runSlashCommand(chat, "/call list_runs {limit: 3}")).output).toMatch(/^the arguments of \/call must be one JSON object: /);
  expect((await runSlashCommand(chat, '/call list_runs {"limit": "three"}')).output).toMatch(/^Bad arguments for list_runs: Received tool input did not match expected schema[\s\S]*limit/);
  expect((await runSlashCommand(chat, "/call no_such_tool {}")).output).toMatch(/^No tool named 'no_such_tool'\. Available: list_specs, /);
  expect((await runSlashCommand(chat, "/docs false sharing")).output).toMatch(/^Found \d section\(s\) for "false sharing":\n\n\[1\] /);
  expect(await runSlashCommand(chat, "/quit")).toEqual({ output: "Bye.", quit: true });
});
