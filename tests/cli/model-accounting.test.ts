import { afterAll, describe, expect, it } from "@jest/globals";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFakeOpenAIServer, type ScriptedAnswer } from "../helpers/fake-openai-server.js";
import { FAKE_PYTHON, ROOT } from "./cli-process.js";

// `kernelevolve optimize --model` against a local OpenAI-protocol server that refuses the key, is
// not there, is out of quota, repeats itself, or answers well: the run says what happened, exits
// accordingly, and counts tokens and cost. The fake runtime judges kernels by markers (fast).
const work = mkdtempSync(join(tmpdir(), "kernelevolve-models-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const kernel = (index: number) =>
  `Plan ${index}: unroll by ${index}.\n\`\`\`cpp\n#include <cstdint>\n// variant ${index}\nextern "C" void kernel(const float* x, const float* w, float* y, int64_t R, int64_t C, float eps) {}\n\`\`\`\n`;

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
  events: Record<string, any>[];
}

function optimize(name: string, args: string[], cwd = work): Promise<Outcome> {
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", KERNELEVOLVE_RUNS: join(work, name), KERNELEVOLVE_CACHE: join(work, "cache"), KERNELEVOLVE_PYTHON: FAKE_PYTHON };
  const child = spawn(process.execPath, [join(ROOT, "bin", "kernelevolve.js"), "optimize", "rmsnorm", "--model", "fake-coder", "--generation-size", "4", ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
  return new Promise((resolve) =>
    child.on("close", (code) =>
      resolve({ code, stdout, stderr, events: stdout.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line)) }),
    ),
  );
}

describe("model failures end the run with their reason and a non-zero exit", () => {
  it("a refused API key (HTTP 401): `failed`, exit 5, no retries", async () => {
    const server = await startFakeOpenAIServer([], { fallback: { status: 401, body: "Incorrect API key provided", code: "invalid_api_key" } });
    try {
      const outcome = await optimize("auth", ["--base-url", server.baseUrl, "--budget", "20", "--json"]);
      expect(outcome.code).toBe(5);
      const end = outcome.events.at(-1)!;
      expect(end).toMatchObject({ type: "run-end", status: "failed" });
      expect(end.reason).toMatch(/^model auth: 3 model calls in a row failed the same way; the endpoint refused the API key/);
      expect(outcome.stderr).toMatch(/kernelevolve optimize: model auth: /);
      expect(outcome.events.filter((event) => event.type === "model-retry")).toEqual([]);
      expect(end.progress.candidates).toBeLessThan(20);
    } finally {
      await server.close();
    }
  }, 120_000);

  it("an endpoint that is not there: `failed` after visible retries, exit 5", async () => {
    const outcome = await optimize("unreachable", ["--base-url", "http://127.0.0.1:9/v1", "--budget", "20", "--json"]);
    expect(outcome.code).toBe(5);
    const end = outcome.events.at(-1)!;
    expect(end).toMatchObject({ type: "run-end", status: "failed" });
    expect(end.reason).toMatch(/^model unreachable: .*the endpoint cannot be reached/);
    const retries = outcome.events.filter((event) => event.type === "model-retry");
    expect(retries.length).toBeGreaterThan(0);
    expect(retries[0]).toMatchObject({ model: "fake-coder", attempt: 1, delayMs: 1000 });
  }, 120_000);

  it("an account out of quota (429 insufficient_quota): `failed` with that reason, exit 5", async () => {
    const server = await startFakeOpenAIServer([], { fallback: { status: 429, body: "You exceeded your current quota, please check your plan and billing details.", code: "insufficient_quota" } });
    try {
      const outcome = await optimize("quota", ["--base-url", server.baseUrl, "--budget", "20", "--json"]);
      expect(outcome.code).toBe(5);
      expect(outcome.events.at(-1)!.reason).toMatch(/^model quota: .*out of quota/);
      expect(outcome.events.filter((event) => event.type === "model-retry")).toEqual([]);
    } finally {
      await server.close();
    }
  }, 120_000);
});

describe("tokens and cost", () => {
  it("prices from the command line count the cost, shown in progress and report, and --cost stops the run; no listener leak", async () => {
    const server = await startFakeOpenAIServer(Array.from({ length: 200 }, (_, index) => ({ text: kernel(index) })));
    try {
      const outcome = await optimize("priced", ["--base-url", server.baseUrl, "--budget", "60", "--price-in", "100", "--price-out", "400", "--cost", "2"]);
      expect(outcome.stderr).not.toContain("MaxListenersExceededWarning");
      expect(outcome.stdout).toMatch(/run completed: cost;/);
      // The plain progress shows tokens and spending per generation.
      expect(outcome.stdout).toMatch(/\| \d+ tokens \$\d+\.\d{3} \|/);
      const runId = /run (\S+): rmsnorm on cpu/.exec(outcome.stdout)![1];
      const written = spawnSync(process.execPath, [join(ROOT, "bin", "kernelevolve.js"), "report", runId], { cwd: work, env: { PATH: process.env.PATH, HOME: process.env.HOME, KERNELEVOLVE_RUNS: join(work, "priced") }, encoding: "utf8" });
      expect(written.status).toBe(0);
      const report = readFileSync(join(work, "priced", runId, "report.md"), "utf8");
      const cost = Number(/\| model cost \| \$(\d+\.\d+) \|/.exec(report)![1]);
      expect(cost).toBeGreaterThanOrEqual(2);
      expect(report).toMatch(/\| model tokens \| \d+ \(\d+ in, \d+ out\) \|/);
    } finally {
      await server.close();
    }
  }, 180_000);

  it("prices from kernelevolve.config.json apply to the model they name", async () => {
    const server = await startFakeOpenAIServer(Array.from({ length: 200 }, (_, index) => ({ text: kernel(1000 + index) })));
    const project = mkdtempSync(join(work, "project-"));
    writeFileSync(join(project, "kernelevolve.config.json"), JSON.stringify({ models: { "fake-coder": { inputCostPerMillion: 100, outputCostPerMillion: 400 } } }));
    try {
      const outcome = await optimize("configured", ["--base-url", server.baseUrl, "--budget", "60", "--cost", "1", "--json"], project);
      const end = outcome.events.at(-1)!;
      expect(end).toMatchObject({ type: "run-end", status: "completed", reason: "cost" });
      expect(end.progress.costUsd).toBeGreaterThanOrEqual(1);
    } finally {
      await server.close();
    }
  }, 180_000);
});

describe("a model that repeats itself", () => {
  it("is re-prompted with a note, and the `exhausted` end says why", async () => {
    // Every answer is the same kernel: the first is new, every later one a duplicate.
    const server = await startFakeOpenAIServer([], { fallback: { text: kernel(7) } });
    try {
      const outcome = await optimize("repeats", ["--base-url", server.baseUrl, "--budget", "20", "--json"]);
      const end = outcome.events.at(-1)!;
      expect(end).toMatchObject({ type: "run-end", status: "completed" });
      expect(end.reason).toMatch(/^exhausted: the operator repeated (\d+) of (\d+) proposed candidates \(duplicates of evaluated kernels by source hash\), also after \d+ re-prompt\(s\) with a note asking for a different variant$/);
      const reprompts = server.requests.filter((request) => request.messages.some((message) => String(message.content).includes("Note: your previous answer repeated a kernel")));
      expect(reprompts.length).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  }, 120_000);
});
