import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AIMessage, HumanMessage, ToolMessage, type BaseMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { createChatSession, type ChatEvent, type ChatSessionHandle } from "../../index.js";
import { RunDatabase } from "../../graphs/runs/run-database.js";
import { repositoryRoot } from "../helpers/paths.js";
import { realRuntimePresent } from "../platforms/helpers.js";

// A whole chat session on the real cpu platform: a scripted model calls the product's tools (and a
// plugin's tool), starts a real autotune run, reads its result, and the thread is resumed later.
const scratch = mkdtempSync(join(tmpdir(), "kernelevolve-chat-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const pluginPath = join(repositoryRoot, "examples", "plugin-with-tool-and-platform", "index.ts");
const quick = { trials: 1, warmup: 1, minTimeMs: 10, minRepetitions: 3 };
// The real runtime and g++ wherever the runtime package exists (CI included); elsewhere the fake
// runtime (verdicts from source markers) stands in, so the chat path is still exercised.
const real = realRuntimePresent();
const python = real ? undefined : join(repositoryRoot, "tests", "cli", "fixtures", "fake-python");
if (!real) console.warn("chat-session.test: the Python runtime package is missing; runs use the fake runtime");

function lastToolText(messages: BaseMessage[], name: string): string {
  const found = [...messages].reverse().find((message) => ToolMessage.isInstance(message) && message.name === name);
  if (!found) throw new Error(`the model saw no ${name} result; it saw: ${messages.map((message) => message.getType()).join(", ")}`);
  return String(found.content);
}

const runIdIn = (text: string) => {
  const match = /Started run (\S+):/.exec(text);
  if (!match) throw new Error(`no run id in: ${text}`);
  return match[1];
};

describe("chat session with a scripted tool-calling model", () => {
  const model = fakeModel();
  const events: ChatEvent[] = [];
  let runId = "";
  const open = () =>
    createChatSession({
      model,
      threadId: "tuning-session",
      cwd: scratch,
      python,
      runsDirectory: join(scratch, "runs"),
      cacheDirectory: join(scratch, "cache"),
      plugins: [pluginPath],
      runs: { evaluation: quick },
      onEvent: (event) => events.push(event),
    });

  test("lists specs, calls the plugin's tool, runs an optimisation and reads its result; the same thread resumes", async () => {
    model
      .respondWithTools([
        { name: "list_specs", args: {} },
        { name: "estimate_roofline", args: { flops: 2 * 9 * 45, bytes: 4 * (9 * 45 + 9), peak_gflops: 100, bandwidth_gbs: 20 } },
      ])
      .respond((messages) => new AIMessage(`Specs: ${lastToolText(messages, "list_specs").split("\n")[0]}. ${lastToolText(messages, "estimate_roofline").split("\n")[1]}`))
      .respondWithTools([{ name: "start_optimization", args: { spec: "row-sum-squares", budget: 4, sizes: ["small"] } }])
      .respond((messages) => {
        runId = runIdIn(lastToolText(messages, "start_optimization"));
        return new AIMessage({ content: "", tool_calls: [{ name: "watch_run", args: { run_id: runId, wait_seconds: 150 }, id: "watch-1" }] });
      })
      .respond(() => new AIMessage({ content: "", tool_calls: [{ name: "show_kernel", args: { run_id: runId }, id: "show-1" }] }))
      .respond((messages) => new AIMessage(`Finished. ${lastToolText(messages, "show_kernel").split("\n")[0]}`));

    let chat: ChatSessionHandle = await open();
    try {
      expect(chat.tools.map((tool) => tool.name)).toEqual(
        expect.arrayContaining(["list_specs", "explain_spec", "start_optimization", "watch_run", "stop_run", "list_runs", "show_kernel", "compare_kernels", "show_report", "search_docs", "estimate_roofline", "exfm_profile", "aovift_simulate"]),
      );
      const first = await chat.send("What can I optimise, and how fast could row-sum-squares be at its small size?");
      expect(first.toolCalls.map((call) => call.name)).toEqual(["list_specs", "estimate_roofline"]);
      expect(first.reply).toMatch(/^Specs: \d+ specs:\. memory-bound: at best/);
      // The plugin's spec sits among the seeds.
      expect(first.toolCalls[0].result).toContain("vector-scale");

      const second = await chat.send("Optimise row-sum-squares, quickly please.");
      expect(second.toolCalls.map((call) => call.name)).toEqual(["start_optimization", "watch_run", "show_kernel"]);
      expect(second.toolCalls[1].result).toMatch(new RegExp(`Run ${runId}: completed`));
      expect(second.toolCalls[1].result).toMatch(/candidates 4\/4: \d passed/);
      expect(second.toolCalls[2].result).toContain('extern "C" void kernel');
      expect(second.reply).toMatch(new RegExp(`^Finished\\. Run ${runId}, c\\d{4}: passed, fitness \\d+\\.\\d\\dx`));
    } finally {
      await chat.close();
    }

    // The run really happened: its database holds four evaluated candidates and a best one.
    const db = RunDatabase.open(join(scratch, "runs", runId));
    try {
      expect(db.totals()).toMatchObject({ candidates: 4, pending: 0 });
      expect(db.run().bestFitness).toBeGreaterThan(0);
    } finally {
      db.close();
    }
    // Its progress reached the chat as events while it ran.
    const runEvents = events.filter((event): event is Extract<ChatEvent, { type: "run-event" }> => event.type === "run-event");
    expect(runEvents.map((event) => event.event.type)).toEqual(expect.arrayContaining(["run-start", "candidate-end", "run-end"]));

    // A new session on the same thread id sees the whole earlier conversation.
    let seenOnResume: BaseMessage[] = [];
    model
      .respond((messages) => {
        seenOnResume = messages;
        return new AIMessage({ content: "", tool_calls: [{ name: "list_runs", args: {} }], id: "resume-1" });
      })
      .respond((messages) => new AIMessage(`That was ${lastToolText(messages, "list_runs").split("\n")[1].split(" ")[0]}.`));
    chat = await open();
    try {
      expect((await chat.history()).length).toBeGreaterThanOrEqual(10);
      const third = await chat.send("Which run was that again?");
      expect(third.reply).toBe(`That was ${runId}.`);
      const humans = seenOnResume.filter((message) => HumanMessage.isInstance(message)).map((message) => message.content);
      expect(humans).toEqual(["What can I optimise, and how fast could row-sum-squares be at its small size?", "Optimise row-sum-squares, quickly please.", "Which run was that again?"]);
    } finally {
      await chat.close();
    }
  }, 240_000);

  test("a different thread id starts an empty conversation", async () => {
    const chat = await createChatSession({ model, threadId: "another-thread", cwd: scratch, runsDirectory: join(scratch, "runs"), cacheDirectory: join(scratch, "cache") });
    try {
      expect(await chat.history()).toEqual([]);
    } finally {
      await chat.close();
    }
  });
});
