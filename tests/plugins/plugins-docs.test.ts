import { afterAll, beforeAll, expect, test } from "@jest/globals";
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { definePlugin } from "../../core/plugin.js";
import { UserError } from "../../core/errors.js";
import { loadPluginModule, loadProjectConfig, type LoadedPlugin } from "../../app/project-config.js";
import { compose } from "../../app/composition.js";
import { repositoryRoot } from "../helpers/paths.js";
import { realRuntimePresent } from "../platforms/helpers.js";

// Every example of docs/plugins.md, run: the plugin is written from the doc's TypeScript (with the
// spec and seeds of tests/plugins/fixtures/with-seeds beside it), the shell lines and the config are
// used as written, and each row of the error table is provoked and compared with the real message.
const doc = readFileSync(join(repositoryRoot, "docs", "plugins.md"), "utf8");
const blocks = [...doc.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((match) => ({ language: match[1], body: match[2] }));
// Inside the repository, so the plugin's bare imports (@langchain/core, zod) resolve as in a project.
const project = join(repositoryRoot, ".cache", `plugins-docs-${process.pid}`);
const fixtures = join(repositoryRoot, "tests", "plugins", "fixtures");

beforeAll(() => {
  const plugin = join(project, "my-plugin");
  mkdirSync(plugin, { recursive: true });
  const source = blocks.find((block) => block.language === "ts")!.body.replace(/from "kernelevolve"/, `from ${JSON.stringify(join(repositoryRoot, "index.ts"))}`);
  writeFileSync(join(plugin, "index.ts"), source);
  cpSync(join(fixtures, "with-seeds", "specs"), join(plugin, "specs"), { recursive: true });
  cpSync(join(fixtures, "with-seeds", "kernels"), join(plugin, "kernels"), { recursive: true });
});
afterAll(() => rmSync(project, { recursive: true, force: true }));

function environment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, KERNELEVOLVE_RUNS: join(project, "runs"), KERNELEVOLVE_CACHE: join(project, "cache") };
  if (!realRuntimePresent()) env.KERNELEVOLVE_PYTHON = join(repositoryRoot, "tests", "cli", "fixtures", "fake-python");
  return env;
}

function kernelevolve(line: string, cwd = project, input = "/quit\n") {
  const args = line.trim().split(/\s+/).slice(1);
  return spawnSync(process.execPath, [join(repositoryRoot, "bin", "kernelevolve.js"), ...args], { cwd, env: environment(), input, encoding: "utf8", timeout: 280_000 });
}

test("the shell examples load the doc's plugin: its spec, its tool, and an offline run from its seeds", () => {
  const lines = blocks.filter((block) => block.language === "sh").flatMap((block) => block.body.trim().split("\n"));
  expect(lines).toHaveLength(3);
  for (const line of lines) {
    const result = kernelevolve(line);
    expect({ line, status: result.status, stderr: result.stderr.replace(/^kernelevolve: (no build|dist\/).*\n/m, "") }).toEqual({ line, status: 0, stderr: "" });
    if (line.includes(" specs")) expect(result.stdout).toMatch(/\nvector-halve +elementwise +tiny,medium +cpu/);
    if (line.includes(" chat")) expect(result.stdout).toContain("KernelEvolve chat");
    if (line.includes(" optimize")) expect(result.stdout).toMatch(/run completed: budget; best \d+\.\d\dx/);
  }
  const tools = kernelevolve("kernelevolve --plugin ./my-plugin/index.ts chat", project, '/call bytes_per_element {"dtype": "float16"}\n/quit\n');
  expect(tools.stdout).toContain("2 bytes");
}, 600_000);

test("the config example loads the plugin, its default policy and its prices", async () => {
  const config = blocks.find((block) => block.language === "json")!.body;
  writeFileSync(join(project, "kernelevolve.config.json"), config);
  try {
    const loaded = await loadProjectConfig({ cwd: project });
    expect(loaded.plugins.map((item) => item.plugin.id)).toEqual(["halving"]);
    expect(loaded.defaults).toEqual({ policy: "tournament" });
    expect(loaded.models).toEqual({ "qwen2.5-coder:32b": { inputCostPerMillion: 0.2, outputCostPerMillion: 0.6 } });
    const listed = kernelevolve("kernelevolve specs");
    expect(listed.status).toBe(0);
    expect(listed.stdout).toMatch(/vector-halve/);
  } finally {
    rmSync(join(project, "kernelevolve.config.json"), { force: true });
  }
}, 300_000);

async function messageOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return (error as Error).message;
  }
  throw new Error("expected a failure");
}

const composeWith = (plugins: LoadedPlugin[], cwd = project) =>
  compose({ root: repositoryRoot, cwd, python: "python3", pythonPath: join(repositoryRoot, "python"), runsDirectory: join(project, "runs"), cacheDirectory: join(project, "cache"), plugins }).then(async (composition) => {
    await composition.close();
  });

/** How each row of the table is provoked. */
const provoke: Record<string, () => Promise<string>> = {
  "a field of the wrong shape": () => messageOf(loadPluginModule(join(fixtures, "bad-shape.ts"))),
  "`specificationVersion` other than": () => messageOf(loadPluginModule(join(fixtures, "future-version.ts"))),
  "the module throws while imported": () => messageOf(loadPluginModule(join(fixtures, "throws-on-import.ts"))),
  "a missing file": () => messageOf(loadProjectConfig({ cwd: project, pluginPaths: ["./nowhere/plugin.ts"] })),
  "no default export": () => messageOf(loadPluginModule(join(fixtures, "no-default-export.ts"))),
  "two plugins with one id": () => messageOf(loadProjectConfig({ cwd: fixtures, pluginPaths: ["first-echo.ts", "second-echo.ts"] })),
  "a platform, operator, policy or spec id already taken": async () => messageOf(composeWith([await loadPluginModule(join(fixtures, "steals-cpu.ts"))])),
  "a tool named like a built-in tool": async () => messageOf(composeWith([await loadPluginModule(join(fixtures, "shadows-search-docs.ts"))])),
  "a `seeds`, `specs` or `docs` folder that does not exist": () =>
    messageOf(composeWith([{ plugin: definePlugin({ specificationVersion: "v1", id: "p", seeds: ["./missing"] }), path: join(project, "p.ts"), directory: project }])),
  "a default id in the config that nothing provides": async () => {
    const loaded = await loadProjectConfig({ cwd: join(fixtures, "unknown-default") });
    return messageOf(compose({ root: repositoryRoot, cwd: project, python: "python3", pythonPath: join(repositoryRoot, "python"), runsDirectory: join(project, "runs"), cacheDirectory: join(project, "cache"), defaults: loaded.defaults }));
  },
};

test("every row of the error table is what the code says", async () => {
  const table = doc.slice(doc.indexOf("| Problem | Error |"));
  const rows = table.split("\n").slice(2).filter((line) => line.startsWith("| "));
  expect(rows.length).toBe(Object.keys(provoke).length);
  for (const row of rows) {
    const [problem, error] = row.slice(2, -2).split(" | ");
    const key = Object.keys(provoke).find((start) => problem.startsWith(start));
    expect({ problem, known: Boolean(key) }).toEqual({ problem, known: true });
    const message = await provoke[key!]();
    // Each quoted part of the Error cell occurs in the message; <...> stands for any text.
    for (const [, quoted] of error.matchAll(/`([^`]+)`/g)) {
      const pattern = new RegExp(quoted.split(/<[^>]+>/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".+?"));
      expect({ problem, message, matches: pattern.test(message) }).toEqual({ problem, message, matches: true });
    }
  }
}, 120_000);
