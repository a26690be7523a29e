import { UserError } from "../core/errors.js";

/** The global --plugin flag; the plugins themselves are loaded by app/project-config.ts. */

/** Removes every `--plugin <path>` / `--plugin=<path>` from argv; returns the paths and the rest. */
export function extractPluginFlags(argv: string[]): { pluginPaths: string[]; rest: string[] } {
  const pluginPaths: string[] = [];
  const rest: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index];
    if (argument === "--") {
      rest.push(...argv.slice(index));
      break;
    }
    if (argument === "--plugin") {
      const value = argv[index + 1];
      if (value === undefined || value.startsWith("--")) throw new UserError("bad_usage", "--plugin needs a path, e.g. --plugin ./my-plugin.ts");
      pluginPaths.push(value);
      index++;
    } else if (argument.startsWith("--plugin=")) {
      pluginPaths.push(argument.slice("--plugin=".length));
    } else {
      rest.push(argument);
    }
  }
  return { pluginPaths, rest };
}
