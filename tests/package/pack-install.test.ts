import { execFile } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { consumerLockfile } from "./consumer-lockfile.js";

// The package as a user gets it: `npm pack`, installed into an empty folder with production
// dependencies only (offline, from npm's cache), then used from plain Node, without tsx or jest.
const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const venvPython = join(root, ".venv", "bin", "python");
const SOURCE_FOLDERS = ["core", "platforms", "retrieval", "tools", "agents", "graphs", "cli", "dashboard/server"];

/** The build is current when dist/ is newer than every source file (the rule bin/kernelevolve.js uses). */
function buildIsCurrent(): boolean {
  const built = join(root, "dist", "cli-bundle", "main.js");
  if (!existsSync(built) || !existsSync(join(root, "dist", "index.d.ts"))) return false;
  const stamp = statSync(built).mtimeMs;
  const newer = (path: string): boolean =>
    statSync(path).isDirectory() ? readdirSync(path).some((entry) => newer(join(path, entry))) : path.endsWith(".ts") && statSync(path).mtimeMs > stamp;
  return !newer(join(root, "index.ts")) && !SOURCE_FOLDERS.some((folder) => existsSync(join(root, folder)) && newer(join(root, folder)));
}

let scratch: string;
let consumer: string;
let packedFiles: string[];

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "kernelevolve-pack-"));
  consumer = join(scratch, "consumer");
  mkdirSync(consumer);
  // scripts/setup.sh builds, so in CI the build is current; a dev checkout with newer sources rebuilds here.
  if (!buildIsCurrent()) await run("npm", ["run", "build"], { cwd: root, maxBuffer: 64 << 20 });
  const { stdout } = await run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", scratch], { cwd: root, maxBuffer: 64 << 20 });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  packedFiles = packed.files.map((file) => file.path);
  const tarball = join(scratch, packed.filename);

  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module", dependencies: { kernelevolve: `file:${tarball}` } }));
  writeFileSync(join(consumer, "package-lock.json"), JSON.stringify(consumerLockfile(JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")), tarball)));
  // Install scripts are skipped: the native addons would otherwise compile for minutes; the
  // repository's compiled ones (same versions, same machine) are copied in below.
  await run("npm", ["ci", "--offline", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: consumer, maxBuffer: 64 << 20 });
  for (const name of ["better-sqlite3", "hnswlib-node"]) {
    const version = (folder: string) => (JSON.parse(readFileSync(join(folder, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
    expect(version(consumer)).toBe(version(root));
    const release = join(consumer, "node_modules", name, "build", "Release");
    mkdirSync(release, { recursive: true });
    const built = join(root, "node_modules", name, "build", "Release");
    for (const file of readdirSync(built).filter((entry) => entry.endsWith(".node"))) copyFileSync(join(built, file), join(release, file));
  }
}, 600_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe("the packed package", () => {
  test("ships the build, the runtime and the seeds, and no tests or TypeScript sources", () => {
    for (const path of ["dist/index.js", "dist/index.d.ts", "dist/cli-bundle/main.js", "bin/kernelevolve.js", "python/pyproject.toml", "python/kernelevolve_runtime/__main__.py", "contract/schemas/spec.schema.json", "contract/schemas/protocol.schema.json", "python/pipelines/exfm/__main__.py", "seeds/specs/row-sum-squares.yaml", "seeds/kernels/cpu/row-sum-squares/baseline.cpp", "seeds/prompts/system.md", "docs/abi-cpu.md", "dashboard/dist/index.html"]) {
      expect(packedFiles).toContain(path);
    }
    expect(packedFiles.filter((path) => path.startsWith("tests/") || path.includes("__pycache__") || path.endsWith(".pyc"))).toEqual([]);
    expect(packedFiles.filter((path) => path.endsWith(".ts") && !path.endsWith(".d.ts"))).toEqual([]);
  });

  test("its types resolve through `exports` for a TypeScript consumer", async () => {
    writeFileSync(
      join(consumer, "check.ts"),
      [
        'import { evaluate, UserError, type EvaluationResult } from "kernelevolve";',
        "export async function verdict(source: string): Promise<\"passed\" | \"failed\"> {",
        '  const result: EvaluationResult = await evaluate({ spec: "row-sum-squares", candidate: { language: "cpp", source } });',
        "  // @ts-expect-error a candidate needs a language (fails here if the types were `any`)",
        '  await evaluate({ spec: "row-sum-squares", candidate: { source } });',
        '  if (result.stage === "compile") throw new UserError("bad_usage", result.message);',
        "  return result.status;",
        "}",
      ].join("\n"),
    );
    const options = { strict: true, noEmit: true, module: "nodenext", moduleResolution: "nodenext", target: "es2022", skipLibCheck: true, types: [] };
    writeFileSync(join(consumer, "tsconfig.json"), JSON.stringify({ compilerOptions: options, files: ["check.ts"] }));
    await expect(run(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", consumer], { cwd: consumer })).resolves.toBeDefined();
  }, 120_000);

  test("evaluates a seed kernel from plain Node with the Python of KERNELEVOLVE_PYTHON", async () => {
    if (!existsSync(venvPython)) throw new Error(`no Python runtime at ${venvPython}: run scripts/setup.sh`);
    // A wrapper that records being used, so the test sees that the library took KERNELEVOLVE_PYTHON.
    const marker = join(scratch, "python-used");
    const python = join(scratch, "python");
    writeFileSync(python, `#!/bin/sh\necho used > '${marker}'\nexec '${venvPython}' "$@"\n`);
    chmodSync(python, 0o755);
    const script = `
      import { readFileSync } from "node:fs";
      const { evaluate } = await import("kernelevolve");
      const seed = new URL("./node_modules/kernelevolve/seeds/kernels/cpu/row-sum-squares/baseline.cpp", "file://${consumer}/");
      const source = readFileSync(seed, "utf8");
      // The same kernel with its result doubled: a wrong kernel must come back failed, not throw.
      const wrong = source.replace(/(\\w+)\\[(\\w+)\\]\\s*=\\s*([^;]+);/, "$1[$2] = 2.0f * ($3);");
      if (wrong === source) throw new Error("the seed kernel no longer has the assignment this test doubles");
      const options = { sizes: ["small"], trials: 1, timing: false };
      const verdicts = [];
      for (const candidate of [source, wrong]) {
        const result = await evaluate({ spec: "row-sum-squares", candidate: { language: "cpp", source: candidate }, platform: "cpu", cacheDirectory: ".cache", options });
        verdicts.push({ status: result.status, stage: result.stage, reason: result.reason ?? null });
      }
      console.log(JSON.stringify(verdicts));
    `;
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", script], {
      cwd: consumer,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, KERNELEVOLVE_PYTHON: python },
      maxBuffer: 16 << 20,
    });
    const verdicts = JSON.parse(stdout.trim().split("\n").pop() ?? "") as { status: string; stage: string; reason: string | null }[];
    expect(verdicts[0]).toEqual({ status: "passed", stage: "done", reason: null });
    expect(verdicts[1]).toMatchObject({ status: "failed", stage: "correctness" });
    expect(existsSync(marker)).toBe(true);
  }, 180_000);
});
