import { parseArgs } from "node:util";
import { KernelEvolveError } from "../core/errors.js";
import type { KernelChat } from "./chat-session.js";

/**
 * The chat's slash commands: the same actions as the model's tools, typed by a person, so a chat
 * without any model configured is still a working console.
 */

export const SLASH_HELP = `Commands:
  /specs                                 list the kernel specifications
  /explain <spec>                        explain one spec
  /optimize <spec> [--budget N] [--platform ID] [--operator ID] [--policy ID] [--size NAME]
                                         start a run in the background
  /runs                                  list runs
  /watch <run> [--wait SECONDS]          progress of a run ('latest' works as a run id)
  /stop <run>                            stop a run (it can be resumed later)
  /report <run>                          summary of a run
  /best <run>                            the best kernel of a run
  /compare <run> [first] [second]        compare two candidates (default baseline and best)
  /docs <query>                          search the knowledge base
  /tools                                 list the tools (the model's and plugins')
  /call <tool> <json-args>               call any tool, e.g. /call list_runs {"limit": 3}
  /model [name]                          show the chat model, or switch to another one
  /reset                                 forget this thread's conversation (runs are kept)
  /help                                  this help
  /quit                                  leave (runs still going are stopped and can be resumed)`;

/** What a slash command printed, and whether the session should end. */
export interface SlashResult {
  output: string;
  quit?: boolean;
}

/** Splits a command line into words, honouring double and single quotes. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  for (const match of line.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g)) words.push(match[1] ?? match[2] ?? match[3]);
  return words;
}

function requireArgument(value: string | undefined, usage: string): string {
  if (!value) throw new SlashUsageError(`usage: ${usage}`);
  return value;
}

class SlashUsageError extends Error {}

function positiveInteger(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new SlashUsageError(`--${flag} expects a positive integer, got '${value}'`);
  return Number(value);
}

async function dispatch(chat: KernelChat, name: string, words: string[], rest: string): Promise<SlashResult> {
  const { actions } = chat;
  switch (name) {
    case "help":
      return { output: SLASH_HELP };
    case "quit":
    case "exit":
      return { output: "Bye.", quit: true };
    case "specs":
      return { output: await actions.listSpecs() };
    case "explain":
      return { output: await actions.explainSpec(requireArgument(words[0], "/explain <spec>")) };
    case "optimize": {
      const { values, positionals } = parseArgs({
        args: words,
        allowPositionals: true,
        options: { budget: { type: "string" }, platform: { type: "string" }, operator: { type: "string" }, policy: { type: "string" }, size: { type: "string", multiple: true } },
      });
      const spec = requireArgument(positionals[0], "/optimize <spec> [--budget N]");
      const started = await actions.startOptimization({
        spec,
        budget: positiveInteger("budget", values.budget),
        platform: values.platform,
        operator: values.operator,
        policy: values.policy,
        sizes: values.size,
      });
      return { output: started.message };
    }
    case "runs":
      return { output: await actions.listRuns() };
    case "watch": {
      const { values, positionals } = parseArgs({ args: words, allowPositionals: true, options: { wait: { type: "string" } } });
      const wait = values.wait === undefined ? 0 : Number(values.wait);
      if (!(wait >= 0)) throw new SlashUsageError(`--wait expects seconds, got '${values.wait}'`);
      return { output: await actions.watchRun(requireArgument(positionals[0], "/watch <run> [--wait SECONDS]"), wait) };
    }
    case "stop":
      return { output: await actions.stopRun(requireArgument(words[0], "/stop <run>")) };
    case "report":
      return { output: await actions.showReport(requireArgument(words[0], "/report <run>")) };
    case "best":
      return { output: await actions.showKernel(requireArgument(words[0], "/best <run>")) };
    case "compare":
      return { output: await actions.compareKernels({ runId: requireArgument(words[0], "/compare <run> [first] [second]"), first: words[1], second: words[2] }) };
    case "docs":
      return { output: await chat.callTool("search_docs", { query: requireArgument(rest.trim() || undefined, "/docs <query>") }) };
    case "tools":
      return { output: chat.tools.map((tool) => `${tool.name}: ${tool.description.split("\n")[0]}`).join("\n") };
    case "call": {
      const toolName = requireArgument(words[0], "/call <tool> <json-args>");
      const json = rest.trim().slice(toolName.length).trim() || "{}";
      let args: unknown;
      try {
        args = JSON.parse(json);
      } catch (error) {
        throw new SlashUsageError(`the arguments of /call must be one JSON object: ${(error as Error).message}`);
      }
      if (!args || typeof args !== "object" || Array.isArray(args)) throw new SlashUsageError("the arguments of /call must be one JSON object, e.g. {\"limit\": 3}");
      return { output: await chat.callTool(toolName, args as Record<string, unknown>) };
    }
    case "model": {
      if (!words[0]) return { output: chat.hasModel ? `Model: ${chat.modelName}` : "No chat model is configured (slash commands only)." };
      try {
        chat.setModel(words[0]);
      } catch (error) {
        throw new SlashUsageError((error as Error).message);
      }
      return { output: `Model: ${words[0]} from the next message on (thread '${chat.threadId}' is kept).` };
    }
    case "reset":
      await chat.reset();
      return { output: `Thread '${chat.threadId}' cleared: the model starts afresh from the next message. Runs and their results are kept.` };
    default:
      throw new SlashUsageError(`unknown command '/${name}'. Type /help for the list.`);
  }
}

/**
 * Runs one slash command line (starting with '/'); problems the user can fix come back as text.
 * @example await runSlashCommand(chat, "/optimize rmsnorm --budget 6")
 */
export async function runSlashCommand(chat: KernelChat, line: string): Promise<SlashResult> {
  const trimmed = line.trim();
  const name = trimmed.slice(1).split(/\s+/)[0] ?? "";
  const rest = trimmed.slice(1 + name.length);
  try {
    return await dispatch(chat, name.toLowerCase(), splitWords(rest), rest);
  } catch (error) {
    if (error instanceof SlashUsageError) return { output: error.message };
    if (error instanceof KernelEvolveError && error.fault !== "system") return { output: `Error (${error.code}): ${error.message}` };
    // Checked by shape, not instanceof: node's own errors may come from another realm (vm, jest).
    const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS")) return { output: `${String(message)}\n${SLASH_HELP}` };
    throw error;
  }
}
