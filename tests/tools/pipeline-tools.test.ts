import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { StructuredToolInterface } from "@langchain/core/tools";
import { z } from "zod";
import { createPipelineTools, pipelineTool, toSnakeCase, type Pipeline, type PipelineProgress, type PipelineToolOptions } from "../../tools/pipeline-tools.js";

// The shared tool layer on a small Python pipeline of its own (tests/tools/fixtures/fakepipe, on the real
// pipelines/command_line.py, no torch): arguments, results, errors, progress, cancellation, timeouts.
const root = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const python = join(root, ".venv/bin/python");
const pythonPath = [join(root, "tests/tools/fixtures"), join(root, "python")].join(delimiter);
const work = mkdtempSync(join(tmpdir(), "pipeline-tools-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const EchoSchema = z.object({
  out: z.string().describe("a path"),
  inputs: z.array(z.string()).default([]).describe("paths"),
  modelConfig: z.record(z.unknown()).optional().describe("renamed to config"),
  nested: z.object({ innerValue: z.number() }).optional().describe("snake_cased inside"),
}).strict();

interface TestOptions extends PipelineToolOptions { label?: string }

const FAKE: Pipeline<TestOptions> = {
  module: "fakepipe",
  tools: [
    pipelineTool({
      name: "fake_echo", command: "echo", description: "Echo.", schema: EchoSchema, paths: ["out", "inputs"], rename: { modelConfig: "config" },
      enrich: (result, input, { options }) => ({ ...result, label: options.label, outArgument: input.out }),
      summary: (result, input) => `Echoed into ${input.out}.`,
    }),
    pipelineTool({ name: "fake_slow", command: "slow", description: "Slow.", schema: z.object({ pidFile: z.string(), steps: z.number().int().optional() }).strict() }),
    pipelineTool({ name: "fake_bad", command: "bad", description: "Bad.", schema: z.object({}).strict() }),
    pipelineTool({ name: "fake_crash", command: "crash", description: "Crash.", schema: z.object({}).strict() }),
  ],
};

const toolsWith = (options: Partial<TestOptions> = {}) => createPipelineTools(FAKE, { python, pythonPath, workDirectory: work, ...options });
const call = (tools: StructuredToolInterface[], name: string, args: unknown, config?: { signal?: AbortSignal }) =>
  tools.find((item) => item.name === name)!.invoke(args as Record<string, unknown>, config) as Promise<string>;
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("pipeline tools", () => {
  it("sends snake_case arguments with paths resolved in the work directory, renames, threads; answers with the summary and the result", async () => {
    const text = await call(toolsWith({ threads: 3, label: "L" }), "fake_echo", { out: "a/b.pt", inputs: ["x", "y/z"], modelConfig: { imageSize: 16 }, nested: { innerValue: 2 } });
    const [summary, json] = text.split("\n");
    expect(summary).toBe("Echoed into a/b.pt.");
    const result = JSON.parse(json);
    expect(result.args).toEqual({
      out: join(work, "a/b.pt"), inputs: [join(work, "x"), join(work, "y/z")], config: { image_size: 16 }, model_config: null, threads: 3, nested: { inner_value: 2 },
    });
    expect(result.cwd).toBe(work);
    expect(result).toMatchObject({ label: "L", outArgument: "a/b.pt" });
    expect(result.ok).toBeUndefined();
  });

  it("answers invalid arguments and paths outside the work directory with the field to fix", async () => {
    const tools = toolsWith();
    expect(await call(tools, "fake_echo", { out: 3 })).toMatch(/^fake_echo: invalid arguments: out: Expected string.*Fix them and call fake_echo again\.$/);
    expect(await call(tools, "fake_echo", { out: "../up.pt" })).toMatch(/^fake_echo: invalid arguments: out: '..\/up.pt' lies outside the work directory/);
    expect(await call(tools, "fake_echo", { out: "ok", inputs: ["fine", "/etc/passwd"] })).toMatch(/inputs\.1: '\/etc\/passwd' lies outside/);
  });

  it("relays the pipeline's own error line: bad input as fixable, a crash with the stderr tail", async () => {
    const tools = toolsWith();
    expect(await call(tools, "fake_bad", {})).toBe("fake_bad failed: invalid arguments for bad: size: must be a power of two, got 3. Fix the arguments and call fake_bad again.");
    const crashed = await call(tools, "fake_crash", {});
    expect(crashed).toMatch(/^fake_crash failed: crash failed: RuntimeError: the kernel melted\nLast lines of the pipeline's stderr:\n/);
    expect(crashed).toContain("loading the model");
    expect(crashed).toContain("Traceback");
  });

  it("reports progress lines as events", async () => {
    const events: PipelineProgress[] = [];
    await call(toolsWith({ onProgress: (_line, event) => events.push(event) }), "fake_slow", { pidFile: "pid-progress", steps: 2 });
    expect(events.map((event) => [event.tool, event.command, event.line])).toEqual([["fake_slow", "slow", "step 0"], ["fake_slow", "slow", "step 1"]]);
    expect(events[1].elapsedMs).toBeGreaterThanOrEqual(events[0].elapsedMs);
  });

  it("kills the command when the call's signal aborts", async () => {
    const controller = new AbortController();
    let started!: () => void;
    const running = new Promise<void>((done) => { started = done; });
    const tools = toolsWith({ onProgress: () => started() });
    const pending = call(tools, "fake_slow", { pidFile: "pid-abort" }, { signal: controller.signal });
    await running;
    const pid = Number(readFileSync(join(work, "pid-abort"), "utf8"));
    expect(alive(pid)).toBe(true);
    controller.abort();
    await expect(pending).rejects.toThrow(/abort/i);
    for (let waited = 0; alive(pid) && waited < 10_000; waited += 100) await new Promise((done) => setTimeout(done, 100));
    expect(alive(pid)).toBe(false);
  }, 30_000);

  it("does not start a command once the tools' own signal has aborted, and stops at the timeout", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(call(toolsWith({ signal: controller.signal }), "fake_slow", { pidFile: "pid-never" })).rejects.toThrow(/stopped before it started/);
    expect(existsSync(join(work, "pid-never"))).toBe(false);
    expect(await call(toolsWith({ timeoutMs: 1500 }), "fake_slow", { pidFile: "pid-timeout" })).toMatch(/^fake_slow failed \(python_timeout\): python -m fakepipe timed out after 1500 ms/);
  }, 30_000);

  it("says which Python it could not start", async () => {
    const tools = createPipelineTools(FAKE, { python: join(work, "no-such-python"), pythonPath, workDirectory: work });
    expect(await call(tools, "fake_bad", {})).toMatch(/^fake_bad failed \(python_unavailable\): cannot start .*no-such-python/);
  });

  it("renames camelCase keys recursively and drops undefined values", () => {
    expect(toSnakeCase({ examplesPerWindow: 3, model: { topMlp: [2] }, domainWeights: { "0": 0.1 }, list: [{ aB: 1 }], skip: undefined })).toEqual({
      examples_per_window: 3, model: { top_mlp: [2] }, domain_weights: { "0": 0.1 }, list: [{ a_b: 1 }],
    });
  });
});
