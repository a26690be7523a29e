import { describe, expect, it } from "@jest/globals";
import { z } from "zod";
import { RunOptionsSchema } from "../../app/run-request.js";
import optimizeCommand, { OPTIMIZE_OPTIONS } from "../../cli/commands/optimize.js";
import { loadCommands } from "../../cli/main.js";
import { COMMON_OPTIONS, option, optionsHelp, parseCommandLine } from "../../cli/options.js";
import { UserError } from "../../core/errors.js";

// One table per command drives parsing, validation and --help; these check the table's rules.
const table = {
  budget: option(z.number().int().min(1).optional().describe("Most candidates"), "N"),
  port: option(z.number().int().min(0).max(65535).default(8377).describe("Port"), "N"),
  ratio: option(z.number().positive().optional().describe("A ratio"), "X"),
  size: option(z.array(z.string()).optional().describe("A size (repeatable)"), "NAME"),
  path: option(z.string().min(1).describe("Required path"), "DIR"),
  json: COMMON_OPTIONS.json,
};
const parse = (argv: string[]) => parseCommandLine(argv, table, "Usage: test", { expected: "one thing", min: 0, max: 1 });

describe("option tables", () => {
  it("parse each flag by its schema's type, with defaults and repeatable flags", () => {
    const { values, positionals } = parse(["thing", "--budget", "7", "--ratio", "0.5", "--size", "a", "--size", "b", "--path", "p", "--json"]);
    expect(values).toEqual({ budget: 7, port: 8377, ratio: 0.5, size: ["a", "b"], path: "p", json: true });
    expect(positionals).toEqual(["thing"]);
  });

  it("say what a flag expects, from the schema's checks, and what was given", () => {
    const message = (argv: string[]) => {
      try {
        parse(["--path", "p", ...argv]);
      } catch (error) {
        expect(error).toBeInstanceOf(UserError);
        return (error as Error).message.split("\n")[0];
      }
      throw new Error(`no error for ${argv.join(" ")}`);
    };
    expect(message(["--budget", "0"])).toBe("--budget expects a positive integer, got '0'");
    expect(message(["--budget", "2.5"])).toBe("--budget expects a positive integer, got '2.5'");
    expect(message(["--budget", "many"])).toBe("--budget expects a positive integer, got 'many'");
    expect(message(["--port", "70000"])).toBe("--port expects an integer from 0 to 65535, got '70000'");
    expect(message(["--ratio=-1"])).toBe("--ratio expects a positive number, got '-1'");
    expect(() => parse([])).toThrow(/^--path is required\nUsage: test/);
    // A refinement (a check zod cannot describe) says what the table says the flag expects.
    const refined = { mode: option(z.string().refine((text) => ["auto", "none"].includes(text)).default("auto").describe("Mode"), "MODE", { expects: "auto or none" }) };
    expect(() => parseCommandLine(["--mode", "3"], refined, "u")).toThrow("--mode expects auto or none, got '3'");
    expect(() => parse(["--path", "p", "--nope"])).toThrow(/Unknown option '--nope'[\s\S]*Usage: test/);
    expect(() => parse(["--path", "p", "a", "b"])).toThrow(/^expected one thing, got 2/);
  });

  it("write --help from the descriptions", () => {
    const help = optionsHelp(table);
    expect(help).toContain("--budget N");
    expect(help).toMatch(/--port N\s+Port/);
    expect(help).toMatch(/--json\s+One JSON object per line/);
  });

  it("keep every flag optimize had, each described by the run request schema", () => {
    const flags = ["platform", "model", "base-url", "operator", "policy", "budget", "time", "tokens", "cost", "price-in", "price-out", "target", "stagnation", "generation-size", "concurrency", "seed", "size", "trials", "threads", "min-time-ms", "specs-dir", "json", "queue", "tag"];
    for (const flag of flags) expect(optimizeCommand.usage).toMatch(new RegExp(`\\n  --${flag}\\b`));
    for (const [field, schema] of Object.entries(RunOptionsSchema.shape)) {
      expect(OPTIMIZE_OPTIONS[field as keyof typeof OPTIMIZE_OPTIONS].schema.description).toBe(schema.description);
      expect(optimizeCommand.usage).toContain(schema.description!);
    }
    expect(() => parseCommandLine(["x", "--time", "soon"], OPTIMIZE_OPTIONS, "u", { expected: "one", min: 1, max: 1 })).toThrow("--time expects a duration such as 90s, 10m or 1.5h, got 'soon'");
    expect(parseCommandLine(["x", "--time", "1.5h", "--seed=-3"], OPTIMIZE_OPTIONS, "u", { expected: "one", min: 1, max: 1 }).values).toMatchObject({ time: 5400, seed: -3 });
  });

  it("no command parses argv by hand: each declares an option table", async () => {
    const { readFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const { repositoryRoot } = await import("../helpers/paths.js");
    for (const command of (await loadCommands()).values()) {
      const source = readFileSync(join(repositoryRoot, "cli", "commands", `${command.name}.ts`), "utf8");
      expect({ command: command.name, parseArgs: source.includes("parseArgs(") }).toEqual({ command: command.name, parseArgs: false });
    }
  });
});
