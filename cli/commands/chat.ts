import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { UserError } from "../../core/errors.js";
import { createOpenAIChatModel } from "../../agents/models.js";
import type { ChatEvent } from "../../graphs/chat.js";
import { EXIT_CODES, defineCommand } from "../command.js";
import { openKernelChat } from "../chat-session.js";
import { composeForCli } from "../compose.js";
import { SLASH_HELP, runSlashCommand } from "../slash-commands.js";

const usage = `
Usage: kernelevolve chat [--thread ID] [--model NAME] [--base-url URL] [--specs-dir DIR ...]

A terminal session with KernelEvolve. With a model (--model, or KERNELEVOLVE_MODEL and
KERNELEVOLVE_BASE_URL), type what you want in plain words and the model calls the tools; the
conversation is stored per thread and '--thread ID' continues it. Without a model, the slash
commands give the same actions offline. Slash commands work in both modes.

${SLASH_HELP}

Global: --plugin PATH loads a plugin module (repeatable); kernelevolve.config.ts/.json in the
working directory is read too.
`;

/** One terminal line for a chat event; undefined for events not worth a line. */
export function formatChatEvent(event: ChatEvent): string | undefined {
  switch (event.type) {
    case "tool-call":
      return `  -> ${event.name}(${JSON.stringify(event.args)})`;
    case "tool-result":
      return `  <- ${event.name}: ${event.content.split("\n")[0].slice(0, 200)}`;
    case "assistant":
      return event.text;
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
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        allowPositionals: false,
        options: { thread: { type: "string" }, model: { type: "string" }, "base-url": { type: "string" }, "specs-dir": { type: "string", multiple: true, default: [] } },
      });
    } catch (error) {
      throw new UserError("bad_usage", `${(error as Error).message}\n${usage.trim()}`);
    }
    const { values } = parsed;
    if (values.thread !== undefined && !/^[A-Za-z0-9._-]{1,100}$/.test(values.thread)) {
      throw new UserError("bad_usage", `--thread expects letters, digits, '.', '_' or '-', got '${values.thread}'`);
    }
    const modelName = values.model ?? context.model.name;
    const modelConfig = modelName ? { name: modelName, baseUrl: values["base-url"] ?? context.model.baseUrl, apiKey: context.model.apiKey } : undefined;
    const composition = await composeForCli(context, { specsDirectories: values["specs-dir"] as string[], model: modelConfig });
    const write = (text: string) => context.stdout.write(`${text}\n`);
    let chat;
    try {
      chat = await openKernelChat({
        composition,
        model: modelConfig ? createOpenAIChatModel(modelConfig) : undefined,
        threadId: values.thread,
        onEvent: (event) => {
          // The model's own reply is printed once the turn ends, with the prompt after it.
          if (event.type === "assistant") return;
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

    const terminal = Boolean(context.stdout.isTTY && context.stdin.isTTY);
    const lines = createInterface({ input: context.stdin, output: context.stdout, terminal, prompt: "kernelevolve> " });
    let interrupted = false;
    lines.on("SIGINT", () => {
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
              const turn = await chat.send(line);
              write(turn.reply || "(no reply)");
            } catch (error) {
              write(`The model call failed: ${(error as Error).message}`);
            }
          }
        }
        lines.prompt();
      }
    } finally {
      lines.close();
      await chat.close();
      await composition.close();
    }
    return interrupted ? EXIT_CODES.interrupted : EXIT_CODES.ok;
  },
});
