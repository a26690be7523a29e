import type { CliContext } from "./context.js";

/** One `kernelevolve <name>` subcommand; each lives in cli/commands/<name>.ts and is found by name. */
export interface Command {
  name: string;
  /** One line for `kernelevolve --help`. */
  summary: string;
  /** Full usage text for `kernelevolve <name> --help`. */
  usage: string;
  /** Returns the process exit code (see EXIT_CODES). */
  run(argv: string[], context: CliContext): Promise<number>;
}

/** Exit codes: a failed candidate is not a usage error, and neither is a broken platform. */
export const EXIT_CODES = {
  ok: 0,
  candidateFailed: 1,
  usage: 2,
  platform: 3,
  system: 4,
  /** The model could not be used (refused key, unreachable endpoint, no quota). */
  model: 5,
  interrupted: 130,
} as const;

/** Identity helper that types a command module's default export. */
export function defineCommand(command: Command): Command {
  return command;
}
