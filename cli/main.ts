import { existsSync, readdirSync } from "node:fs";
import { dirname, extname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { EXIT_CODES, type Command } from "./command.js";
import { createCliContext, type CliContext } from "./context.js";
import { KernelEvolveError } from "../core/errors.js";
import { extractPluginFlags } from "./plugins.js";
import { installProcessLifetime } from "./process-lifetime.js";

const commandsDirectory = join(dirname(fileURLToPath(import.meta.url)), "commands");
// ".ts" in a source checkout (tsx, jest), ".js" when running the build in dist/.
const moduleExtension = extname(fileURLToPath(import.meta.url));

/** Loads every subcommand module in cli/commands (one file per command). */
export async function loadCommands(): Promise<Map<string, Command>> {
  const commands = new Map<string, Command>();
  for (const file of readdirSync(commandsDirectory).sort()) {
    if (!file.endsWith(moduleExtension) || file.endsWith(".d.ts") || file.endsWith(".test.ts")) continue;
    const module = (await import(pathToFileURL(join(commandsDirectory, file)).href)) as { default?: Command };
    if (module.default?.name) commands.set(module.default.name, module.default);
  }
  return commands;
}

function helpText(commands: Map<string, Command>): string {
  const width = Math.max(...[...commands.keys()].map((name) => name.length), 8);
  const lines = [...commands.values()].map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return `kernelevolve: turn kernel specifications into verified, faster kernels\n\nUsage: kernelevolve <command> [options]\n\nCommands:\n${lines.join("\n")}\n\nRun 'kernelevolve <command> --help' for a command's options.\n`;
}

/** Loads one subcommand by name, importing only its own file (start-up stays fast). */
async function loadCommand(name: string): Promise<Command | undefined> {
  if (!/^[a-z][a-z0-9-]*$/.test(name) || !existsSync(join(commandsDirectory, `${name}${moduleExtension}`))) return undefined;
  const module = (await import(pathToFileURL(join(commandsDirectory, `${name}${moduleExtension}`)).href)) as { default?: Command };
  return module.default?.name === name ? module.default : undefined;
}

/** Runs the CLI with argv (without node and script) and returns the exit code. */
export async function main(argv: string[], context: CliContext = createCliContext()): Promise<number> {
  // --plugin is global: taken out here so every command's own flag parsing never sees it.
  let flags: ReturnType<typeof extractPluginFlags>;
  try {
    flags = extractPluginFlags(argv);
  } catch (error) {
    context.stderr.write(`kernelevolve: ${(error as Error).message}\n`);
    return EXIT_CODES.usage;
  }
  if (flags.pluginPaths.length) context = { ...context, pluginPaths: [...(context.pluginPaths ?? []), ...flags.pluginPaths] };
  const [name, ...rest] = flags.rest;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    context.stdout.write(helpText(await loadCommands()));
    return name ? EXIT_CODES.ok : EXIT_CODES.usage;
  }
  const command = await loadCommand(name);
  if (!command) {
    const commands = await loadCommands();
    context.stderr.write(`kernelevolve: unknown command '${name}'. Available: ${[...commands.keys()].join(", ")}\n`);
    return EXIT_CODES.usage;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    context.stdout.write(`${command.usage.trim()}\n`);
    return EXIT_CODES.ok;
  }
  try {
    return await command.run(rest, context);
  } catch (error) {
    if (error instanceof KernelEvolveError) {
      context.stderr.write(`kernelevolve ${name}: ${error.message}\n`);
      // A system error wrapping something unexpected keeps its stack, for a bug report.
      if (error.fault === "system" && error.cause instanceof Error && !(error.cause instanceof KernelEvolveError)) context.stderr.write(`${error.cause.stack ?? ""}\n`);
      return error.fault === "user" ? EXIT_CODES.usage : error.fault === "platform" ? EXIT_CODES.platform : error.fault === "model" ? EXIT_CODES.model : EXIT_CODES.system;
    }
    context.stderr.write(`kernelevolve ${name}: internal error: ${(error as Error).stack ?? String(error)}\n`);
    return EXIT_CODES.system;
  }
}

/** Runs the CLI as the real process: signal and closed-output handling, then main(); sets the exit code. */
export async function runFromProcess(argv: string[]): Promise<void> {
  installProcessLifetime();
  try {
    process.exitCode = await main(argv);
  } catch (error) {
    console.error(error);
    process.exitCode = EXIT_CODES.system;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) void runFromProcess(process.argv.slice(2));
