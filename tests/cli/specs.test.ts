import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT_CODES } from "../../cli/command.js";
import { listSpecs, resolveSpec } from "../../app/spec-catalog.js";
import { ROOT, runCli, runCliInProcess } from "./cli-process.js";

const seedIds = readdirSync(join(ROOT, "seeds", "specs"))
  .filter((name) => /\.(ya?ml|json)$/.test(name))
  .map((name) => name.replace(/\.(ya?ml|json)$/, ""))
  .sort();

let extra: string;
beforeAll(() => {
  extra = mkdtempSync(join(tmpdir(), "kernelevolve-specs-"));
  copyFileSync(join(ROOT, "tests", "platforms", "fixtures", "specs", "vector-add.yaml"), join(extra, "vector-add.yaml"));
});
afterAll(() => rmSync(extra, { recursive: true, force: true }));

describe("spec resolution", () => {
  test("finds ids in the seeds and in extra folders, and files by path", () => {
    const sources = { root: ROOT, cwd: ROOT, extraDirectories: [extra] };
    expect(resolveSpec("layernorm", sources).spec.id).toBe("layernorm");
    expect(resolveSpec("vector-add", sources).origin).toBe(extra);
    expect(resolveSpec("seeds/specs/layernorm.yaml", sources).spec.id).toBe("layernorm");
    expect(() => resolveSpec("vector-add", { root: ROOT, cwd: ROOT })).toThrow(/no spec named 'vector-add'/);
  });

  test("refuses the same id in two folders, naming both", () => {
    const clash = mkdtempSync(join(tmpdir(), "kernelevolve-clash-"));
    try {
      copyFileSync(join(ROOT, "seeds", "specs", "layernorm.yaml"), join(clash, "copy.yaml"));
      expect(() => listSpecs({ root: ROOT, cwd: ROOT, extraDirectories: [clash] })).toThrow(/'layernorm' is defined in both .*seeds\/specs and .*kernelevolve-clash-/);
    } finally {
      rmSync(clash, { recursive: true, force: true });
    }
  });

  test("records which platforms have a seed baseline", () => {
    const entries = listSpecs({ root: ROOT, cwd: ROOT, extraDirectories: [extra] });
    expect(entries.find((entry) => entry.spec.id === "layernorm")!.baselines).toContain("cpu");
    expect(entries.find((entry) => entry.spec.id === "vector-add")!.baselines).toEqual([]);
  });
});

describe("kernelevolve specs", () => {
  test("--json lists every seed spec with its sizes, targets and baselines", async () => {
    const run = await runCliInProcess(["specs", "--json"]);
    expect(run.status).toBe(EXIT_CODES.ok);
    const list = JSON.parse(run.stdout) as Array<{ id: string; sizes: string[]; targets: string[]; baselines: string[]; category: string }>;
    expect(list.map((item) => item.id)).toEqual(seedIds);
    const layernorm = list.find((item) => item.id === "layernorm")!;
    expect(layernorm).toMatchObject({ category: "normalization", sizes: ["small", "medium", "large"] });
    expect(layernorm.baselines).toContain("cpu");
    expect(layernorm.targets).toContain("cpu");
  });

  test("the table has one row per spec, extra folders included", async () => {
    const run = await runCliInProcess(["specs", "--specs-dir", extra]);
    expect(run.status).toBe(EXIT_CODES.ok);
    const lines = run.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^ID\s+CATEGORY\s+SIZES\s+TARGETS\s+BASELINE\s+DESCRIPTION$/);
    expect(lines.at(-1)).toBe(`${seedIds.length + 1} specs`);
    expect(run.stdout).toMatch(/\nvector-add\s+elementwise\s+tiny,small\s+cpu\s+-\s+Element-wise sum/);
  });

  test("show prints the whole spec: tensors, sizes, seed kernels and the reference", async () => {
    const run = await runCliInProcess(["specs", "show", "layernorm"]);
    expect(run.status).toBe(EXIT_CODES.ok);
    expect(run.stdout).toContain("x: float32[R, D]");
    expect(run.stdout).toContain("small: R=7 D=33");
    expect(run.stdout).toContain(join("seeds", "kernels", "cpu", "layernorm", "baseline.cpp"));
    expect(run.stdout).toContain("def reference(x, weight, bias, eps):");
  });

  test("show of an unknown id is a usage error listing the ids (real CLI process)", () => {
    const run = runCli(["specs", "show", "layer-norm"]);
    expect(run.status).toBe(EXIT_CODES.usage);
    expect(run.stderr).toContain("no spec named 'layer-norm'");
    for (const id of seedIds) expect(run.stderr).toContain(id);
  });

  test("a broken spec in an extra folder names its file and field", async () => {
    const broken = mkdtempSync(join(tmpdir(), "kernelevolve-broken-"));
    try {
      mkdirSync(join(broken, "sub"));
      writeFileSync(join(broken, "oops.json"), JSON.stringify({ id: "Oops", description: "x", category: "y" }));
      const run = await runCliInProcess(["specs", "--specs-dir", broken]);
      expect(run.status).toBe(EXIT_CODES.usage);
      expect(run.stderr).toContain(`invalid spec ${join(broken, "oops.json")}`);
      expect(run.stderr).toMatch(/- id: .*kebab-case/);
      expect(run.stderr).toMatch(/- inputs: Required/);
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });

  test("an unknown action is a usage error", async () => {
    const run = await runCliInProcess(["specs", "delete", "layernorm"]);
    expect(run.status).toBe(EXIT_CODES.usage);
    expect(run.stderr).toContain("unknown specs action 'delete'");
  });
});
