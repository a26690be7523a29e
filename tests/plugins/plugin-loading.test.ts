import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { definePlugin, validatePlugin } from "../../core/plugin.js";
import { UserError } from "../../core/errors.js";
import { loadPluginModule, loadProjectConfig } from "../../app/project-config.js";
import { extractPluginFlags } from "../../cli/plugins.js";
import { compose, type Composition } from "../../app/composition.js";
import { repositoryRoot } from "../helpers/paths.js";

const fixtures = join(repositoryRoot, "tests", "plugins", "fixtures");
const scratch = mkdtempSync(join(tmpdir(), "kernelevolve-plugins-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function failure(promise: Promise<unknown>): Promise<UserError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return error as UserError;
  }
  throw new Error("expected a failure");
}

const composeWith = (project: Awaited<ReturnType<typeof loadProjectConfig>>) =>
  compose({
    root: repositoryRoot,
    cwd: scratch,
    python: "python3",
    pythonPath: join(repositoryRoot, "python"),
    runsDirectory: join(scratch, "runs"),
    cacheDirectory: join(scratch, "cache"),
    plugins: project.plugins,
    defaults: project.defaults,
  });

describe("plugin shape", () => {
  test("definePlugin returns the very object it was given (class instances keep their methods)", () => {
    class Policy {
      id = "always-first";
      description = "picks the first candidate";
      select() {
        return { parents: [], state: {} };
      }
    }
    const policy = new Policy();
    const plugin = definePlugin({ specificationVersion: "v1", id: "keeps-prototypes", policies: [policy] });
    expect(plugin.policies![0]).toBe(policy);
  });

  test("a bad shape names every bad field with its path", () => {
    expect(() => validatePlugin({ specificationVersion: "v1", id: "Not Kebab", tools: [{ name: "x" }], extra: 1 }, "/p/plugin.ts")).toThrow(
      /invalid plugin \/p\/plugin\.ts:[\s\S]*id: a kebab-case id[\s\S]*tools\[0\]/,
    );
    expect(() => validatePlugin({ specificationVersion: "v1", id: "ok", extra: 1 }, "/p/plugin.ts")).toThrow(/Unrecognized key\(s\) in object: 'extra'/);
  });

  test("an inline spec is checked against the spec schema before anything runs", () => {
    expect(() => validatePlugin({ specificationVersion: "v1", id: "bad-spec", specs: [{ id: "half-a-spec" }] }, "cfg.ts")).toThrow(/specs\[0\] is not a valid spec[\s\S]*reference/);
  });

  test("--plugin is taken out of argv wherever it appears, in both spellings", () => {
    expect(extractPluginFlags(["--plugin", "a.ts", "chat", "--plugin=b.ts", "--thread", "t"])).toEqual({ pluginPaths: ["a.ts", "b.ts"], rest: ["chat", "--thread", "t"] });
    expect(() => extractPluginFlags(["chat", "--plugin"])).toThrow(/--plugin needs a path/);
  });
});

describe("plugin loading errors name the file", () => {
  test("bad shape", async () => {
    const error = await failure(loadPluginModule(join(fixtures, "bad-shape.ts")));
    expect(error.code).toBe("invalid_plugin");
    expect(error.message).toContain(join(fixtures, "bad-shape.ts"));
    expect(error.message).toMatch(/tools\[0\]/);
    expect(error.message).toMatch(/platforms\[0\]/);
  });

  test("unsupported specification version", async () => {
    const error = await failure(loadPluginModule(join(fixtures, "future-version.ts")));
    expect(error.message).toMatch(/specificationVersion "v2" is not supported/);
  });

  test("a module that throws on import", async () => {
    const error = await failure(loadPluginModule(join(fixtures, "throws-on-import.ts")));
    expect(error.code).toBe("plugin_import_failed");
    expect(error.message).toContain(join(fixtures, "throws-on-import.ts"));
    expect(error.message).toContain("could not find its license file");
  });

  test("a missing file", async () => {
    const error = await failure(loadProjectConfig({ cwd: scratch, pluginPaths: ["./nowhere/plugin.ts"] }));
    expect(error.code).toBe("plugin_not_found");
    expect(error.message).toContain(join(scratch, "nowhere", "plugin.ts"));
  });

  test("a module without a default export", async () => {
    const error = await failure(loadPluginModule(join(fixtures, "no-default-export.ts")));
    expect(error.message).toMatch(/no default export/);
  });

  test("the same plugin id twice names both files", async () => {
    const error = await failure(loadProjectConfig({ cwd: fixtures, pluginPaths: ["first-echo.ts", "second-echo.ts"] }));
    expect(error.code).toBe("duplicate_plugin");
    expect(error.message).toContain(join(fixtures, "first-echo.ts"));
    expect(error.message).toContain(join(fixtures, "second-echo.ts"));
  });

  test("two config files in one folder", async () => {
    const error = await failure(loadProjectConfig({ cwd: join(fixtures, "config-both") }));
    expect(error.message).toMatch(/kernelevolve\.config\.ts and .*kernelevolve\.config\.json exist: keep one/);
  });
});

describe("composition with plugins", () => {
  const opened: Composition[] = [];
  afterAll(async () => {
    await Promise.all(opened.map((composition) => composition.close()));
  });

  test("a JSON config loads its plugins and defaults; the plugin tool joins the tools", async () => {
    const project = await loadProjectConfig({ cwd: join(fixtures, "config-json") });
    expect(project.configPath).toBe(join(fixtures, "config-json", "kernelevolve.config.json"));
    const composition = await composeWith(project);
    opened.push(composition);
    expect(composition.defaults).toEqual({ platform: "cpu", operator: "autotune", policy: "tournament" });
    expect(composition.pluginTools.map((tool) => tool.name)).toEqual(["echo_text"]);
    expect(composition.originOf("tool", "echo_text")).toBe(`plugin 'echo-tools' (${join(fixtures, "first-echo.ts")})`);
    expect(await composition.pluginTools[0].invoke({ text: "hi" })).toBe("echo: hi");
  });

  test("a TypeScript config may hold inline plugins; their specs join the seeds", async () => {
    const composition = await composeWith(await loadProjectConfig({ cwd: join(fixtures, "config-ts") }));
    opened.push(composition);
    expect(composition.specs.ids()).toEqual(expect.arrayContaining(["inline-negate", "rmsnorm", "layernorm"]));
    expect(composition.resolveSpec("inline-negate").spec.sizes).toEqual({ tiny: { N: 8 }, small: { N: 64 } });
    expect(composition.originOf("spec", "inline-negate")).toMatch(/^plugin 'inline-spec' \(.*kernelevolve\.config\.ts\) specs\[0\]$/);
  });

  test("an unknown default id lists the ids that exist and where they come from", async () => {
    const error = await failure(composeWith(await loadProjectConfig({ cwd: join(fixtures, "unknown-default") })));
    expect(error.code).toBe("unknown_id");
    expect(error.message).toMatch(/unknown default platform 'tpu-v9'.*Available: cpu \(built-in\)/);
  });

  test("a plugin platform that reuses a built-in id is a duplicate naming both origins", async () => {
    const error = await failure(composeWith(await loadProjectConfig({ cwd: fixtures, pluginPaths: ["steals-cpu.ts"] })));
    expect(error.code).toBe("duplicate_id");
    expect(error.message).toBe(`duplicate platform id 'cpu' from plugin 'steals-cpu' (${join(fixtures, "steals-cpu.ts")}): already registered by built-in`);
  });

  test("an unknown spec id suggests close ids", async () => {
    const composition = await composeWith(await loadProjectConfig({ cwd: scratch }));
    opened.push(composition);
    expect(() => composition.resolveSpec("rms")).toThrow(/no spec named 'rms'\. Did you mean 'rmsnorm'\?/);
  });
});
