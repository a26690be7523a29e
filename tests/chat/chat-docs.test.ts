import { afterAll, beforeAll, expect, test } from "@jest/globals";
import { execFile, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { repositoryRoot } from "../helpers/paths.js";
import { startFakeOpenAIServer, type ScriptedAnswer } from "../helpers/fake-openai-server.js";
import { realRuntimePresent } from "../platforms/helpers.js";

// Every example of docs/chat.md, run: the shell lines, both terminal transcripts (typed into a real
// pseudo-terminal; each output line of the doc must start a line of the real transcript, with run
// ids and speed-ups free), and the TypeScript example.
const scratch = mkdtempSync(join(tmpdir(), "kernelevolve-chat-docs-"));
const doc = readFileSync(join(repositoryRoot, "docs", "chat.md"), "utf8");
const blocks = [...doc.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((match) => ({ language: match[1], body: match[2] }));
let server: Awaited<ReturnType<typeof startFakeOpenAIServer>>;

const script: ScriptedAnswer[] = [
  // The model transcript: a cut-off call, its correction, the answer.
  { text: "", toolCalls: [{ id: "call_cut", name: "explain_spec", arguments: '{"spec": "rmsn' }] },
  { text: "", toolCalls: [{ id: "call_fixed", name: "explain_spec", arguments: '{"spec": "rmsnorm"}' }] },
  { text: "rmsnorm scales each row by the inverse of its root mean square." },
];

beforeAll(async () => {
  server = await startFakeOpenAIServer(script);
});
afterAll(async () => {
  await server.close();
  rmSync(scratch, { recursive: true, force: true });
});

function environment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TERM: "xterm", KERNELEVOLVE_RUNS: join(scratch, "runs"), KERNELEVOLVE_CACHE: join(scratch, "cache"), ...extra };
  if (!realRuntimePresent()) env.KERNELEVOLVE_PYTHON = join(repositoryRoot, "tests", "cli", "fixtures", "fake-python");
  return env;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const RUN_ID = "\\d{8}-\\d{6}-[a-z0-9-]+-[0-9a-f]{4}";
/** A doc line as a pattern: run ids and speed-ups are whatever the real run had. */
function pattern(line: string): RegExp {
  const generic = escape(line).replace(/\d{8}-\d{6}-[a-z0-9-]+?-[0-9a-f]{4}/g, RUN_ID).replace(/\d+\\\.\d\dx/g, "\\d+\\.\\d\\dx");
  return new RegExp(`^${generic}`);
}

/** Types a doc transcript's commands into a pty; each command waits for the prompt (and long ones for their result). */
function driveTranscript(body: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; transcript: string }> {
  const lines = body.trimEnd().split("\n");
  const steps: object[] = [{ expect: "kernelevolve> ", timeout: 120 }];
  lines.forEach((line, index) => {
    if (!line.startsWith("kernelevolve> ")) return;
    steps.push({ send: `${line.slice("kernelevolve> ".length)}\r` });
    const next = lines[index + 1];
    // Wait for the command's first output line (up to its first variable part) before typing on.
    const stable = next && !next.startsWith("kernelevolve> ") ? next.split(/\d{8}-\d{6}/)[0].trim() : "";
    if (stable) steps.push({ expect: stable, timeout: 240 });
    if (lines.slice(index + 1).some((later) => later.startsWith("kernelevolve> "))) steps.push({ expect: "kernelevolve> ", timeout: 240 });
  });
  return new Promise((resolve) => {
    execFile(
      "python3",
      [join(repositoryRoot, "tests", "chat", "pty-drive.py"), JSON.stringify(steps), process.execPath, join(repositoryRoot, "bin", "kernelevolve.js"), ...args],
      { cwd: scratch, env, timeout: 290_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, transcript: stdout }),
    );
  });
}

function expectEveryLine(body: string, transcript: string) {
  const real = transcript.split("\n");
  for (const line of body.trimEnd().split("\n")) {
    expect({ line, found: real.some((candidate) => pattern(line).test(candidate)) }).toEqual({ line, found: true });
  }
}

test("the shell examples start a chat (with a model, without one, with a plugin)", () => {
  const sh = blocks.find((block) => block.language === "sh")!;
  for (const line of sh.body.trim().split("\n")) {
    const words = line.split(/\s+/);
    const assignments = Object.fromEntries(words.filter((word) => /^[A-Z_]+=/.test(word)).map((word) => word.split("=", 2)));
    if (assignments.KERNELEVOLVE_BASE_URL) assignments.KERNELEVOLVE_BASE_URL = server.baseUrl;
    const args = words.slice(words.indexOf("kernelevolve") + 1);
    const result = spawnSync(process.execPath, [join(repositoryRoot, "bin", "kernelevolve.js"), ...args], { cwd: repositoryRoot, env: environment(assignments), input: "/quit\n", encoding: "utf8", timeout: 120_000 });
    expect({ line, status: result.status }).toEqual({ line, status: 0 });
    const thread = args.includes("--thread") ? args[args.indexOf("--thread") + 1] : "default";
    const mode = assignments.KERNELEVOLVE_MODEL ? `model ${assignments.KERNELEVOLVE_MODEL}` : "no model configured: slash commands only";
    expect(result.stdout).toContain(`KernelEvolve chat, thread '${thread}' (${mode}).`);
    expect(result.stdout).toContain("Bye.");
  }
}, 300_000);

test("the session without a model runs as shown", async () => {
  const body = blocks.filter((block) => block.language === "")[0].body;
  const plugin = join(repositoryRoot, "examples", "plugin-with-tool-and-platform", "index.ts");
  const { code, transcript } = await driveTranscript(body, ["--plugin", plugin, "chat"], environment());
  if (code !== 0) console.log(transcript.slice(-3000));
  expect(code).toBe(0);
  expectEveryLine(body, transcript);
}, 300_000);

test("the session with a model runs as shown", async () => {
  const body = blocks.filter((block) => block.language === "")[1].body;
  const { code, transcript } = await driveTranscript(body, ["chat", "--model", "fake-coder", "--base-url", server.baseUrl, "--thread", "docs"], environment());
  if (code !== 0) console.log(transcript.slice(-3000));
  expect(code).toBe(0);
  expectEveryLine(body, transcript);
}, 300_000);

test("the TypeScript example runs", async () => {
  const source = blocks.find((block) => block.language === "ts")!.body.replace(/from "kernelevolve"/, `from ${JSON.stringify(join(repositoryRoot, "index.ts"))}`);
  const file = join(repositoryRoot, ".cache", `chat-docs-example-${process.pid}.ts`);
  mkdirSync(join(repositoryRoot, ".cache"), { recursive: true });
  writeFileSync(file, source);
  try {
    const tsx = pathToFileURL(join(repositoryRoot, "node_modules", "tsx", "dist", "loader.mjs")).href;
    const own = await startFakeOpenAIServer([
      { text: "", toolCalls: [{ id: "call_specs", name: "list_specs", arguments: "{}" }] },
      { text: "You can optimise rmsnorm, layernorm and more." },
    ]);
    // Asynchronously: the fake model server answers from this very process.
    const result = await new Promise<{ status: number; stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, ["--import", tsx, file], { cwd: scratch, env: environment({ KERNELEVOLVE_MODEL: "fake-coder", KERNELEVOLVE_BASE_URL: own.baseUrl }), timeout: 120_000 }, (error, stdout, stderr) =>
        resolve({ status: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      ),
    );
    await own.close();
    expect({ status: result.status, stderr: result.stderr.slice(-1000) }).toEqual({ status: 0, stderr: "" });
    expect(result.stdout).toContain("-> list_specs");
    expect(result.stdout).toContain("You can optimise rmsnorm, layernorm and more.");
    expect(result.stdout).toMatch(/\d+ run\(s\), newest first|No runs yet/);
  } finally {
    rmSync(file, { force: true });
  }
}, 150_000);
