import { createInterface } from "node:readline";
import { z } from "zod";
import { openKernelChat } from "../../app/chat-session.js";
import { ModelOptionsSchema } from "../../app/run-request.js";
import { SLASH_HELP, runSlashCommand } from "../../app/slash-commands.js";
import { createOpenAIChatModel } from "../../agents/models.js";
import type { ChatEvent } from "../../graphs/chat.js";
import { EXIT_CODES, defineCommand } from "../command.js";
import { modelFromFlags, openCliComposition } from "../context.js";
import { COMMON_OPTIONS, option, optionsHelp, parseCommandLine } from "../options.js";
import { onProcessStop } from "../process-lifetime.js";

const options = {
  thread: option(z.string().regex(/^[A-Za-z0-9._-]{1,100}$/).optional().describe("Conversation id; the same id continues the conversation (default: default)"), "ID", { expects: "letters, digits, '.', '_' or '-'" }),
  model: option(ModelOptionsSchema.shape.model.describe("Chat model (OpenAI-compatible endpoint; default KERNELEVOLVE_MODEL)"), "NAME"),
  baseUrl: option(ModelOptionsSchema.shape.baseUrl, "URL"),
  specsDir: COMMON_OPTIONS.specsDir,
};

const usage = `
Usage: kernelevolve chat [--thread ID] [--model NAME] [--base-url URL] [--specs-dir DIR ...]

A terminal session with KernelEvolve. With a model (--model, or KERNELEVOLVE_MODEL and
KERNELEVOLVE_BASE_URL), type what you want in plain words and the model calls the tools; the
conversation is stored per thread and '--thread ID' continues it. Without a model, the slash
commands give the same actions offline. Slash commands work in both modes.

Options:
${optionsHelp(options)}

${SLASH_HELP}

Global: --plugin PATH loads a plugin module (repeatable); kernelevolve.config.ts/.json in the
working directory is read too.
`;

/** Most characters of a reply or tool result shown in the terminal; the thread keeps the whole text. */
export const DISPLAY_LIMIT = 4000;

/** A long text cut for the terminal, with a note of how much was left out. */
export function forDisplay(text: string, limit = DISPLAY_LIMIT): string {
  if (text.length <= limit) return text;
  return `${text.slice(0, limit)}\n[... reply cut for display: ${text.length - limit} more of ${text.length} characters; the model sent it all, and only the newest part of long messages is sent back to it]`;
}

/** One terminal line for a chat event; undefined for events not worth a line. */
export function formatChatEvent(event: ChatEvent): string | undefined {
  switch (event.type) {
    case "tool-call":
      return `  -> ${event.name}(${JSON.stringify(event.args)})`;
    case "tool-result":
      return `  <- ${event.name}: ${event.content.split("\n")[0].slice(0, 200)}`;
    case "assistant":
      return forDisplay(event.text);
    case "token":
      return undefined;
    case "thread-repaired":
      return `(repaired thread: ${event.added} tool call(s) had no answer; the model is told they did not run)`;
    case "run-event": {
      const run = event.event;
      if (run.type === "candidate-end") return `[run ${run.runId}] ${run.candidateId} ${run.status}${run.status === "passed" ? ` ${run.fitness.toFixed(2)}x` : `: ${run.reason ?? run.message}`}`;
      if (run.type === "best-improved") return `[run ${run.runId}] best ${run.fitness.toFixed(2)}x (${run.candidateId})`;
      if (run.type === "run-end") return `[run ${run.runId}] ended ${run.status}: ${run.reason}; best ${run.bestFitness.toFixed(2)}x`;
      return undefined;
    }
  }
}

export default defineCommand({
  name: "chat",
  summary: "Chat session: optimise kernels by conversation (or slash commands offline)",
  usage,
  async run(argv, context) {
    const { values } = parseCommandLine(argv, options, usage);
    const modelConfig = modelFromFlags(context, values);
    const composition = await openCliComposition(context, { specsDirectories: values.specsDir, model: modelConfig });
    const write = (text: string) => context.stdout.write(`${text}\n`);
    const terminal = Boolean(context.stdout.isTTY && context.stdin.isTTY);
    // In a terminal the reply streams in token by token (up to the display limit); elsewhere it is
    // printed once the turn ends, with the prompt after it.
    let streamed = 0;
    const createModel = (name: string) => createOpenAIChatModel({ ...modelConfig!, name });
    let chat;
    try {
      chat = await openKernelChat({
        composition,
        model: modelConfig ? createModel(modelConfig.name) : undefined,
        modelName: modelConfig?.name,
        createModel,
        streamTokens: terminal,
        threadId: values.thread,
        onEvent: (event) => {
          if (event.type === "token") {
            if (streamed < DISPLAY_LIMIT) context.stdout.write(event.text.slice(0, DISPLAY_LIMIT - streamed));
            streamed += event.text.length;
            return;
          }
          if (event.type === "assistant") return;
          if (streamed > 0) {
            // Text streamed before a tool call: end its line.
            context.stdout.write("\n");
            streamed = 0;
          }
          const line = formatChatEvent(event);
          if (line) write(line);
        },
      });
    } catch (error) {
      await composition.close();
      throw error;
    }
    const mode = chat.hasModel ? `model ${modelConfig!.name}` : "no model configured: slash commands only";
    write(`KernelEvolve chat, thread '${chat.threadId}' (${mode}). Type /help for commands, /quit to leave.`);
    const history = await chat.history();
    if (history.length) write(`(continuing thread '${chat.threadId}': ${history.length} earlier messages)`);

    const lines = createInterface({ input: context.stdin, output: context.stdout, terminal, prompt: "kernelevolve> " });
    let interrupted = false;
    lines.on("SIGINT", () => {
      interrupted = true;
      lines.close();
    });
    // SIGTERM, SIGHUP or a closed output end the session like /quit: runs still going are recorded as stopped.
    const unsubscribe = onProcessStop(() => {
      interrupted = true;
      lines.close();
    });
    try {
      lines.prompt();
      for await (const raw of lines) {
        const line = raw.trim();
        if (line.startsWith("/")) {
          const result = await runSlashCommand(chat, line);
          write(result.output);
          if (result.quit) break;
        } else if (line) {
          if (!chat.hasModel) {
            write("No model is configured, so plain text has no one to answer it. Set KERNELEVOLVE_MODEL (and KERNELEVOLVE_BASE_URL) or pass --model; meanwhile the slash commands work (/help).");
          } else {
            try {
              streamed = 0;
              const turn = await chat.send(line);
              if (streamed > 0) {
                context.stdout.write(streamed > DISPLAY_LIMIT ? `\n${forDisplay(turn.reply).slice(DISPLAY_LIMIT + 1)}\n` : "\n");
                streamed = 0;
              } else write(turn.reply ? forDisplay(turn.reply) : "(no reply)");
            } catch (error) {
              write(`The model call failed: ${(error as Error).message}`);
            }
          }
        }
        lines.prompt();
      }
    } finally {
      unsubscribe();
      lines.close();
      await chat.close();
      await composition.close();
    }
    return interrupted ? EXIT_CODES.interrupted : EXIT_CODES.ok;
  },
});
