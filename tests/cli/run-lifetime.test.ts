import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RunDatabase } from "../../graphs/runs/run-database.js";
import { startFakeOpenAIServer, type ScriptedAnswer } from "../helpers/fake-openai-server.js";
import { FAKE_PYTHON, ROOT } from "./cli-process.js";

// The life of a `kernelevolve optimize` process as a user meets it: the real CLI (bin/kernelevolve.js)
// in its own process, the fake runtime (verdicts from source markers) and a local OpenAI-protocol
// server whose kernels sleep in evaluation (FAKE_SLEEP), so a run is reliably mid-evaluation when it
// is killed, stopped, piped into `head`, or out of time.
const work = mkdtempSync(join(tmpdir(), "kernelevolve-lifetime-"));
let server: Awaited<ReturnType<typeof startFakeOpenAIServer>>;

const slowKernel = (index: number, sleepMs: number) =>
  `Plan ${index}: unroll.\n\`\`\`cpp\n#include <cstdint>\n// FAKE_SLEEP=${sleepMs} variant ${index}\nextern "C" void kernel(const float* x, const float* w, float* y, int64_t R, int64_t C, float eps) {}\n\`\`\`\n`;

beforeAll(async () => {
  const script: ScriptedAnswer[] = Array.from({ length: 400 }, (_, index) => ({ text: slowKernel(index, 60_000) }));
  server = await startFakeOpenAIServer(script);
});
afterAll(async () => {
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

function environment(runs: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/tmp",
    KERNELEVOLVE_RUNS: join(work, runs),
    KERNELEVOLVE_CACHE: join(work, "cache"),
    KERNELEVOLVE_PYTHON: FAKE_PYTHON,
  };
}

const optimizeArgs = (extra: string[] = []) => ["optimize", "rmsnorm", "--model", "fake-coder", "--base-url", server.baseUrl, "--budget", "12", "--generation-size", "2", "--json", ...extra];

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts the CLI; `onEvent` sees each JSON event line as it arrives. */
function start(args: string[], env: NodeJS.ProcessEnv, onEvent: (event: Record<string, unknown>) => void = () => undefined): { child: ChildProcess; exit: Promise<Exit> } {
  const child = spawn(process.execPath, [join(ROOT, "bin", "kernelevolve.js"), ...args], { cwd: work, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let partial = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    stdout += chunk;
    partial += chunk;
    const lines = partial.split("\n");
    partial = lines.pop()!;
    for (const line of lines) if (line.startsWith("{")) onEvent(JSON.parse(line));
  });
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk));
  const exit = new Promise<Exit>((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, exit };
}

/** Resolves once an LLM-written candidate (generation 1) is being evaluated. */
function midEvaluation(args: string[], env: NodeJS.ProcessEnv) {
  let runId = "";
  let resolveReady!: () => void;
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));
  const started = start(args, env, (event) => {
    if (event.type === "run-start") runId = String(event.runId);
    if (event.type === "candidate-start" && event.generation === 1) resolveReady();
  });
  return { ...started, ready, runId: () => runId };
}

function runRow(runs: string, runId: string) {
  const db = RunDatabase.open(join(work, runs, runId));
  try {
    return { run: db.run(), events: db.events(), candidates: db.candidates() };
  } finally {
    db.close();
  }
}

/** Every process whose parent chain leads to `pid` (from /proc). */
function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const visit = (parent: number) => {
    for (const [child, of] of parents) if (of === parent && !found.includes(child)) { found.push(child); visit(child); }
  };
  visit(pid);
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");
  } catch {
    return false;
  }
}

function cliSync(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [join(ROOT, "bin", "kernelevolve.js"), ...args], { cwd: work, env, encoding: "utf8", timeout: 120_000 });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("kernelevolve optimize as a process", () => {
  it("kill -9 leaves no process working on the run; `runs` shows it interrupted and `resume` may take it over", async () => {
    const env = environment("killed");
    const run = midEvaluation(optimizeArgs(), env);
    await run.ready;
    const pid = run.child.pid!;
    const family = descendants(pid);
    const eventsBefore = runRow("killed", run.runId()).events.length;
    run.child.kill("SIGKILL");
    await run.exit;
    // The Node side is gone at once (no orphaned child keeps searching); the runtime follows when its
    // input closes and its in-flight request ends.
    const nodeFamily = family.filter((child) => alive(child) && readFileSync(`/proc/${child}/cmdline`, "utf8").includes("node"));
    expect(nodeFamily).toEqual([]);
    await sleep(3000);
    const after = runRow("killed", run.runId());
    // Nothing went on writing to the run after the kill.
    expect(after.events.length).toBe(eventsBefore);
    expect(after.run.status).toBe("interrupted");
    const listed = cliSync(["runs"], env);
    expect(listed.status).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`${run.runId()}\\s+rmsnorm\\s+interrupted`));
  }, 120_000);

  it("a second process cannot resume a run while its owner lives; SIGTERM stops it as `stopped`, exit 143", async () => {
    const env = environment("locked");
    const run = midEvaluation(optimizeArgs(), env);
    await run.ready;
    const refused = cliSync(["resume", run.runId(), "--model", "fake-coder", "--base-url", server.baseUrl, "--json"], env);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain(`run ${run.runId()} is being run by process ${run.child.pid} (kernelevolve optimize)`);
    expect(refused.stdout).toBe("");
    run.child.kill("SIGTERM");
    const exit = await run.exit;
    expect(exit.code).toBe(143);
    const { run: row, candidates } = runRow("locked", run.runId());
    expect(row).toMatchObject({ status: "stopped", terminationReason: "stopped by SIGTERM" });
    // The evaluation cut short stays pending, for resume.
    expect(candidates.filter((candidate) => candidate.status === "pending").length).toBeGreaterThan(0);
    expect(existsSync(join(work, "locked", run.runId(), "owner.json"))).toBe(false);
  }, 120_000);

  it("Ctrl-C (SIGINT) records the run as stopped, not failed", async () => {
    const env = environment("ctrl-c");
    const run = midEvaluation(optimizeArgs(), env);
    await run.ready;
    run.child.kill("SIGINT");
    const exit = await run.exit;
    expect(exit.code).toBe(130);
    const events = exit.stdout.trim().split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line));
    expect(events.at(-1)).toMatchObject({ type: "run-end", status: "stopped", reason: "stopped by Ctrl-C" });
    expect(runRow("ctrl-c", run.runId()).run).toMatchObject({ status: "stopped", terminationReason: "stopped by Ctrl-C" });
    expect(exit.stderr).not.toMatch(/was aborted|error/i);
  }, 120_000);

  it("`optimize | head -3` stops the run quietly and records it stopped; `runs | head` exits quietly", async () => {
    const env = environment("piped");
    const command = `"${process.execPath}" "${join(ROOT, "bin", "kernelevolve.js")}" ${optimizeArgs().map((word) => `'${word}'`).join(" ")} | head -3; echo "exit \${PIPESTATUS[0]}" >&2`;
    const piped = spawnSync("bash", ["-c", command], { cwd: work, env, encoding: "utf8", timeout: 120_000 });
    expect(piped.stdout.trim().split("\n")).toHaveLength(3);
    expect(piped.stderr).not.toMatch(/EPIPE|Error|at /);
    expect(piped.stderr).toMatch(/exit 130/);
    const [runId] = readdirSync(join(work, "piped"));
    expect(runRow("piped", runId).run).toMatchObject({ status: "stopped", terminationReason: "stopped: its output was closed" });

    const listing = spawnSync("bash", ["-c", `"${process.execPath}" "${join(ROOT, "bin", "kernelevolve.js")}" runs | head -n 0; echo "exit \${PIPESTATUS[0]}" >&2`], { cwd: work, env, encoding: "utf8", timeout: 120_000 });
    expect(listing.stderr).not.toMatch(/EPIPE|Error|at /);
    expect(listing.stderr).toMatch(/exit 0/);
  }, 150_000);

  it("SIGTERM to a chat stops its background runs as `stopped`, not left `running`", async () => {
    const env = environment("chat-term");
    const child = spawn(process.execPath, [join(ROOT, "bin", "kernelevolve.js"), "chat"], { cwd: work, env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    const started = new Promise<string>((resolve) =>
      child.stdout!.on("data", (chunk: Buffer) => {
        stdout += chunk;
        const match = /Started run (\S+):/.exec(stdout);
        if (match && /\[run \S+\] c0001/.test(stdout)) resolve(match[1]);
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    child.stdin!.write("/optimize row-sum-squares --budget 500 --size small\n");
    const runId = await started;
    child.kill("SIGTERM");
    await exited;
    expect(runRow("chat-term", runId).run).toMatchObject({ status: "stopped", terminationReason: "stopped: the chat ended" });
  }, 120_000);

  it("--time ends in-flight evaluations at the budget and records them", async () => {
    const env = environment("timed");
    const { exit } = start(optimizeArgs(["--time", "4s"]), env);
    const result = await exit;
    const events = result.stdout.trim().split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line));
    const first = events[0];
    const last = events.at(-1);
    expect(last).toMatchObject({ type: "run-end", status: "completed", reason: "time" });
    // The kernels in flight sleep for 60 s; the run ends within a second or two of its 4 s budget.
    expect(last.time - first.time).toBeLessThan(4000 + 2500);
    expect(last.progress.activeMs).toBeLessThan(4000 + 2500);
    const { candidates } = runRow("timed", first.runId);
    const cut = candidates.filter((candidate) => candidate.result?.flags.includes("time-budget"));
    expect(cut.length).toBeGreaterThan(0);
    expect(cut[0].result!.message).toMatch(/time budget ran out/);
    expect(candidates.filter((candidate) => candidate.status === "pending")).toEqual([]);
    expect(result.code).toBe(0);
  }, 120_000);
});
