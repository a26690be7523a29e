import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { StructuredToolInterface } from "@langchain/core/tools";
import { loadSpecFile } from "../../core/spec-loader.js";
import { createExfmTools } from "../../tools/exfm/index.js";
import { toSnakeCase } from "../../tools/pipeline-tools.js";

/** Integration test: the ExFM tools called the way an agent calls them, on the real Python pipeline with tiny configs. */
const root = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const python = join(root, ".venv/bin/python");
const work = mkdtempSync(join(tmpdir(), "exfm-tools-"));
const tools = createExfmTools({ python, pythonPath: join(root, "python"), workDirectory: work, threads: 1 });
const byName = (name: string): StructuredToolInterface => {
  const found = tools.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no tool ${name}`);
  return found;
};
const call = async (name: string, args: Record<string, unknown>): Promise<string> => String(await byName(name).invoke(args));
const tinyVm = { embeddingDim: 4, bottomMlp: [4], topMlp: [8], crossLayers: 1 };

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("exfm tools", () => {
  test("expose exactly the six named tools", () => {
    expect(tools.map((candidate) => candidate.name).sort()).toEqual(["exfm_evaluate", "exfm_generate_data", "exfm_profile", "exfm_swap", "exfm_train_foundation", "exfm_train_vertical"]);
  });

  test("camelCase arguments become the pipeline's snake_case, record keys kept", () => {
    expect(toSnakeCase({ examplesPerWindow: 3, model: { topMlp: [2] }, domainWeights: { "0": 0.1 }, skip: undefined })).toEqual({
      examples_per_window: 3,
      model: { top_mlp: [2] },
      domain_weights: { "0": 0.1 },
    });
  });

  test("data -> foundation -> vertical variants -> evaluate, as an agent chains them", async () => {
    const generated = JSON.parse(await call("exfm_generate_data", { output: "data", seed: 1, domains: 2, windows: 4, examplesPerWindow: 150, users: 60, adsPerDomain: 15 }));
    expect(generated.ok).toBe(true);
    expect(generated.rows).toBe(2 * 4 * 150);
    const foundation = JSON.parse(
      await call("exfm_train_foundation", { data: "data", output: "fm", model: { embeddingDim: 8, bottomMlp: [8], topMlp: [16], crossLayers: 1 }, historyEpochs: 1, staleness: [1, 2] }),
    );
    expect(Object.keys(foundation.das).sort()).toEqual(["1", "2"]);
    expect(existsSync(foundation.das["2"])).toBe(true);
    const outputs: Record<string, string> = {};
    for (const variant of ["plain", "adapter"]) {
      const trained = JSON.parse(await call("exfm_train_vertical", { data: "data", das: foundation.das["1"], output: `vm/${variant}.pt`, domain: 0, variant, model: tinyVm }));
      expect(trained.variant).toBe(variant);
      expect(trained.ne).toBeGreaterThan(0);
      expect(trained.windows.map((window: { window: number }) => window.window)).toEqual([3]);
      outputs[variant] = trained.model_path;
    }
    const evaluated = JSON.parse(await call("exfm_evaluate", { data: "data", models: [outputs.plain, outputs.adapter], baseline: outputs.plain, domain: 0, windows: [3] }));
    expect(evaluated.windows).toEqual([3]);
    expect(evaluated.results[outputs.plain].relative_ne_gain_percent).toBe(0);
    expect(typeof evaluated.results[outputs.adapter].relative_ne_gain_percent).toBe("number");
  });

  test("profile returns a breakdown and specs that load under KernelSpecSchema", async () => {
    const text = await call("exfm_profile", { target: "vm", batchSize: 32, steps: 1, warmup: 0, output: "specs" });
    // A summary line (the operators measured hottest and the specs they map to), then the result JSON.
    expect(text.split("\n")[0]).toMatch(/operators measured hottest over a training and an inference step: aten::\S+ \d+% -> /);
    const profiled = JSON.parse(text.slice(text.indexOf("\n") + 1));
    expect(profiled.operators.length).toBeGreaterThan(3);
    expect(profiled.spec_paths).toHaveLength(5);
    const ids = profiled.spec_paths.map((path: string) => {
      const spec = loadSpecFile(path);
      const sizeNames = Object.keys(spec.sizes);
      expect(sizeNames[0]).toBe("small");
      expect(sizeNames.length).toBeGreaterThanOrEqual(2);
      return spec.id;
    });
    expect(ids.sort()).toEqual(["exfm-vm-dcn-cross", "exfm-vm-dot-interaction", "exfm-vm-embedding-bag-sum", "exfm-vm-mlp", "exfm-vm-multi-term-bce"]);
    const bag = loadSpecFile(profiled.spec_paths.find((path: string) => path.endsWith("embedding-bag-sum.yaml")));
    expect(bag.sizes.profiled.S).toBe(32 * 6);
    // The specs of the operators measured hottest (swappable, seeded or generic) load under KernelSpecSchema too.
    expect(profiled.operator_spec_paths.length).toBeGreaterThan(0);
    for (const path of profiled.operator_spec_paths as string[]) expect(Object.keys(loadSpecFile(path).sizes).length).toBeGreaterThanOrEqual(2);
  });

  test("bad arguments are answered with the field to fix, not thrown", async () => {
    expect(await call("exfm_train_vertical", { variant: "teacher" })).toMatch(/exfm_train_vertical: invalid arguments: variant/);
    expect(await call("exfm_generate_data", { windows: 1 })).toMatch(/windows/);
    expect(await call("exfm_generate_data", { output: "../escape" })).toMatch(/outside the work directory/);
    // Caught by the Python side: distilling needs a DAS file.
    expect(await call("exfm_train_vertical", { variant: "distilled" })).toMatch(/das: variant 'distilled' distils from the FM/);
    expect(await call("exfm_evaluate", { data: "nowhere", models: ["x.pt"] })).toMatch(/run generate-data first/);
  });
});
