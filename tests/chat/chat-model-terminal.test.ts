import { afterAll, beforeAll, expect, test } from "@jest/globals";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import { buildChatGraph, openChatCheckpointer } from "../../graphs/chat.js";
import { repositoryRoot } from "../helpers/paths.js";
import { startFakeOpenAIServer, type ScriptedAnswer } from "../helpers/fake-openai-server.js";

// `kernelevolve chat --model ...` in a real pseudo-terminal against a local OpenAI-protocol server
// that rejects, as OpenAI does, a history with an unanswered tool call.
const scratch = mkdtempSync(join(tmpdir(), "kernelevolve-chat-model-"));
let server: Awaited<ReturnType<typeof startFakeOpenAIServer>>;
const longReply = Array.from({ length: 3000 }, (_, index) => `word${index}`).join(" ");

const script: ScriptedAnswer[] = [
  // 1. A tool call whose JSON arguments were cut off.
  { text: "", toolCalls: [{ id: "call_cut", name: "explain_spec", arguments: '{"spec": "rmsn' }] },
  // 2. Told so, the model corrects itself; 3. then calls a tool that does not exist; 4. then answers.
  { text: "", toolCalls: [{ id: "call_fixed", name: "explain_spec", arguments: '{"spec": "rmsnorm"}' }] },
  { text: "", toolCalls: [{ id: "call_unknown", name: "explain_everything", arguments: "{}" }] },
  { text: "rmsnorm scales each row by the inverse of its root mean square." },
  // 5. A very long reply.
  { text: longReply },
  // 6. After /model, 7. after /reset.
  { text: "switched and answering" },
  { text: "a fresh start" },
  // 8. The repaired legacy thread.
  { text: "the old thread works again" },
];

beforeAll(async () => {
  server = await startFakeOpenAIServer(script);
});
afterAll(async () => {
  await server.close();
  rmSync(scratch, { recursive: true, force: true });
});

function drive(steps: object[], args: string[]): Promise<{ code: number; transcript: string; stderr: string }> {
  const environment: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TERM: "xterm", KERNELEVOLVE_RUNS: join(scratch, "runs"), KERNELEVOLVE_CACHE: join(scratch, "cache") };
  return new Promise((resolve) => {
    execFile(
      "python3",
      [join(repositoryRoot, "tests", "chat", "pty-drive.py"), JSON.stringify(steps), process.execPath, join(repositoryRoot, "bin", "kernelevolve.js"), ...args],
      { cwd: scratch, env: environment, timeout: 200_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, transcript: stdout, stderr }),
    );
  });
}

test("a malformed or unknown tool call goes back to the model as an error it corrects; long replies are cut; /model and /reset work", async () => {
  const { code, transcript } = await drive(
    [
      { expect: "kernelevolve> ", timeout: 120 },
      { send: "what does rmsnorm do?\r" },
      { expect: "root mean square.", timeout: 60 },
      { expect: "kernelevolve> " },
      { send: "tell me everything\r" },
      { expect: "reply cut for display", timeout: 60 },
      { expect: "kernelevolve> " },
      { send: "/model other-coder\r" },
      { expect: "Model: other-coder from the next message on" },
      { send: "and now?\r" },
      { expect: "switched and answering", timeout: 60 },
      { expect: "kernelevolve> " },
      { send: "/reset\r" },
      { expect: "cleared" },
      { send: "hello\r" },
      { expect: "a fresh start", timeout: 60 },
      { expect: "kernelevolve> " },
      { send: "/quit\r" },
      { expect: "Bye." },
    ],
    ["chat", "--model", "fake-coder", "--base-url", server.baseUrl, "--thread", "tuning"],
  );
  if (code !== 0) console.log(transcript.slice(-3000));
  expect(code).toBe(0);
  const [first, second, third, fourth, fifth, sixth, seventh] = server.requests;
  // The cut-off call was answered with an error naming the problem, and the model could go on.
  const answer = second.messages.find((message) => message.role === "tool" && message.tool_call_id === "call_cut");
  expect(answer?.content).toMatch(/^Error: the arguments of your call to explain_spec are not valid JSON/);
  expect(second.messages.find((message) => message.role === "assistant")?.tool_calls).toEqual([expect.objectContaining({ id: "call_cut" })]);
  expect(third.messages.find((message) => message.tool_call_id === "call_fixed")?.content).toMatch(/^rmsnorm \(/);
  expect(fourth.messages.find((message) => message.tool_call_id === "call_unknown")?.content).toMatch(/^Error: there is no tool named 'explain_everything'\. Available tools: list_specs, explain_spec/);
  // In a terminal the replies stream (server-sent events), shown as they arrive.
  expect(first.stream).toBe(true);
  expect(transcript).toContain("  -> explain_spec({})");
  expect(transcript).toContain("rmsnorm scales each row by the inverse of its root mean square.");
  // The long reply is shown cut, with a note; sent back to the model later, it is cut too.
  expect(transcript).toContain("word0 word1");
  expect(transcript).not.toContain("word2999");
  expect(transcript).toContain(`reply cut for display: ${longReply.length - 4000} more of ${longReply.length} characters`);
  expect(transcript).not.toContain("New LangChain packages");
  expect(fifth.model).toBe("fake-coder");
  expect(sixth.model).toBe("other-coder");
  const echoed = sixth.messages.find((message) => message.role === "assistant" && String(message.content).startsWith("word0"));
  expect(String(echoed?.content).length).toBeLessThan(17_000);
  expect(String(echoed?.content)).toContain(`characters left out of this ${longReply.length}-character message`);
  // After /reset the model sees only the new message.
  expect(seventh.messages.map((message) => message.role)).toEqual(["system", "user"]);
}, 240_000);

test("a thread stored with an unanswered tool call is repaired when it is opened again", async () => {
  // What an older version stored after a malformed call: an assistant message whose only tool call
  // could not be parsed, and no tool answer. Every later request on it used to fail with HTTP 400.
  const checkpointer = openChatCheckpointer(join(scratch, "runs", "chat", "threads.sqlite"));
  const agent = { tools: [], systemPrompt: "", respond: async () => new AIMessage("unused") };
  const graph = buildChatGraph(agent, checkpointer);
  const broken = new AIMessage({
    content: "",
    tool_calls: [],
    invalid_tool_calls: [{ id: "call_legacy", name: "list_runs", args: '{"limit": 3', error: "Unexpected end of JSON input", type: "invalid_tool_call" }],
    additional_kwargs: { tool_calls: [{ id: "call_legacy", type: "function", function: { name: "list_runs", arguments: '{"limit": 3' } }] },
  });
  await graph.updateState({ configurable: { thread_id: "legacy" } }, { messages: [new HumanMessage("list my runs"), broken] }, "agent");
  (checkpointer as unknown as { db: { close(): void } }).db.close();

  const before = server.requests.length;
  const { code, transcript } = await drive(
    [
      { expect: "kernelevolve> ", timeout: 120 },
      { send: "and now?\r" },
      { expect: "the old thread works again", timeout: 60 },
      { expect: "kernelevolve> " },
      { send: "/quit\r" },
      { expect: "Bye." },
    ],
    ["chat", "--model", "fake-coder", "--base-url", server.baseUrl, "--thread", "legacy"],
  );
  if (code !== 0) console.log(transcript.slice(-3000));
  expect(code).toBe(0);
  expect(transcript).toContain("(repaired thread: 1 tool call(s) had no answer; the model is told they did not run)");
  const sent = server.requests[before];
  expect(sent.messages.map((message) => message.role)).toEqual(["system", "user", "assistant", "tool", "user"]);
  expect(sent.messages[3]).toMatchObject({ role: "tool", tool_call_id: "call_legacy" });
  expect(String(sent.messages[3].content)).toMatch(/^Error: no answer was recorded for this call to list_runs/);
}, 240_000);
