import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadSpecFile } from "../../core/spec-loader.js";
import { createAoviftTools } from "../../tools/aovift/index.js";

// Integration test: the real Python pipeline on a 16^3 volume, called the way an agent calls the tools.
const root = resolve(".");
const workDirectory = mkdtempSync(join(tmpdir(), "aovift-tools-"));
const tools = createAoviftTools({ python: join(root, ".venv/bin/python"), pythonPath: join(root, "python"), workDirectory, threads: 2, seedsRoot: join(root, "seeds") });
const byName = Object.fromEntries(tools.map((item) => [item.name, item]));
const call = (name: string, args: unknown) => (byName[name] as unknown as { invoke: (input: unknown) => Promise<string> }).invoke(args);
const payload = (text: string) => JSON.parse(text.split("\n").slice(1).join("\n"));

afterAll(() => rmSync(workDirectory, { recursive: true, force: true }));

describe("AOViFT tools", () => {
  it("exposes exactly the six pipeline tools", () => {
    expect(tools.map((item) => item.name)).toEqual(["aovift_simulate", "aovift_train", "aovift_predict", "aovift_correct", "aovift_profile", "aovift_swap"]);
  });

  it("simulates, trains, predicts, corrects and profiles into valid kernel specs", async () => {
    // Five Python processes (each imports torch): about 40 s on an idle 2-core machine.
    const microscope = { size: 16 };
    const simulated = await call("aovift_simulate", { out: "data/train.pt", samples: 24, seed: 3, microscope, simulation: { maxRmsUm: 0.1, maxBeads: 2 } });
    expect(simulated).toMatch(/^Simulated 24 volumes \(size 16/);
    expect(existsSync(join(workDirectory, "data/train.pt"))).toBe(true);

    const trained = await call("aovift_train", {
      data: "data/train.pt", validation: "data/train.pt", out: "models/vit.pt", preset: "vit-tiny",
      modelConfig: { imageSize: 16, patches: [8, 4], blocks: [1, 1], heads: [2, 2] }, epochs: 2, batch: 8,
    });
    expect(trained).toMatch(/^Trained AOViFT p8-4/);
    const trainResult = payload(trained);
    expect(trainResult.parameters).toBeGreaterThan(1000);
    expect(trainResult.forward_flops_per_sample).toBeGreaterThan(0);
    expect(trainResult.validation.residual_pv_waves.mean).toBeGreaterThan(0);

    const predicted = payload(await call("aovift_predict", { checkpoint: "models/vit.pt", data: "data/train.pt", limit: 3 }));
    expect(predicted.predictions).toHaveLength(3);
    expect(predicted.predictions[0]).toHaveLength(15);
    expect(predicted.predictions[0][4]).toBe(0); // defocus is not predicted
    expect(predicted.evaluation.samples).toBe(24);

    const corrected = await call("aovift_correct", { checkpoint: "models/vit.pt", samples: 4, iterations: 1 });
    expect(corrected).toMatch(/median residual waves P-V per iteration: 0: [0-9.]+, 1: [0-9.]+/);
    expect(payload(corrected).iterations).toHaveLength(2);

    const profiled = await call("aovift_profile", { outDir: "specs", checkpoint: "models/vit.pt", batch: 2, repeats: 1 });
    const profile = payload(profiled);
    const regions = profile.regions.map((region: { name: string }) => region.name);
    expect(regions).toEqual(expect.arrayContaining(["aovift.embedding.fft3d", "aovift.patch_embed", "aovift.attention", "aovift.mlp"]));
    expect(profile.operators.length).toBeGreaterThan(3);
    expect(profile.spec_paths).toHaveLength(4);
    for (const path of profile.spec_paths as string[]) {
      const spec = loadSpecFile(path);
      const sizes = Object.keys(spec.sizes);
      expect(sizes.length).toBeGreaterThanOrEqual(2);
      expect(spec.reference).toMatch(/import torch/);
      expect(spec.id.startsWith("aovift-")).toBe(true);
    }
    const patch = loadSpecFile(join(workDirectory, "specs/aovift-patch-embed.yaml"));
    expect(patch.sizes["profiled-stage1"]).toEqual({ B: 2, P: 6, S: 16, Q: 8 });
    // The specs follow the measurement: hottest region first, the ids those measured.
    const hot = profile.hot_specs as { id: string; total_ms: number; share: number }[];
    expect(profile.spec_ids).toEqual(hot.map((item) => item.id));
    expect(hot.map((item) => item.total_ms)).toEqual([...hot.map((item) => item.total_ms)].sort((a, b) => b - a));
    expect(profiled).toContain(`regions measured hottest (${hot[0].id} `);
    // Hot operators that fit a seeded spec (LayerNorm, GELU, softmax) get a spec sized from the
    // measured shape, with the seed kernels beside it, ready for an offline autotune run.
    const seeded = profile.seeded_specs as { id: string; from: string; operator: string; size: Record<string, number>; path: string; seeds: string[] }[];
    expect(seeded.length).toBeGreaterThan(0);
    for (const item of seeded) {
      const spec = loadSpecFile(item.path);
      expect(spec.id).toBe(`aovift-${item.from}`);
      expect(spec.sizes.profiled).toEqual(item.size);
      expect(item.seeds.some((file) => file.endsWith(join("seeds", "cpu", spec.id, "template.cpp")))).toBe(true);
    }
    expect(profiled).toMatch(/Hot operators with seed kernels: aten::\S+ -> aovift-\S+ \([0-9.]+ ms\)/);

    const fewer = payload(await call("aovift_profile", { outDir: "specs-two", checkpoint: "models/vit.pt", batch: 2, repeats: 1, maxSpecs: 2 }));
    expect(fewer.spec_ids).toHaveLength(2);
    expect(fewer.spec_ids).toEqual(fewer.hot_specs.map((item: { id: string }) => item.id));
  }, 600_000);

  it("works on a fresh checkout, where its work directory does not exist yet", async () => {
    const fresh = join(workDirectory, "fresh-checkout", ".cache", "pipelines", "aovift");
    const [simulate] = createAoviftTools({ python: join(root, ".venv/bin/python"), pythonPath: join(root, "python"), workDirectory: fresh, threads: 2 });
    const text = await (simulate as unknown as { invoke: (input: unknown) => Promise<string> }).invoke({ out: "data/first.pt", samples: 2, seed: 1, microscope: { size: 16 } });
    expect(text).toMatch(/^Simulated 2 volumes \(size 16/);
    expect(existsSync(join(fresh, "data", "first.pt"))).toBe(true);
  }, 300_000);

  it("answers bad arguments with a message naming the field, without throwing", async () => {
    const badEpochs = await call("aovift_train", { data: "x.pt", out: "m.pt", epochs: 0 });
    expect(badEpochs).toMatch(/^aovift_train: invalid arguments: epochs: .*greater than or equal to 1/);
    const escape = await call("aovift_simulate", { out: "../outside.pt", samples: 2 });
    expect(escape).toMatch(/outside the work directory/);
    const unknownField = await call("aovift_simulate", { out: "d.pt", samples: 2, photons: 5 });
    expect(unknownField).toMatch(/invalid arguments: .*photons/);
    const missing = await call("aovift_predict", { checkpoint: "nothing.pt", data: "none.pt" });
    expect(missing).toMatch(/^aovift_predict failed: .*checkpoint not found/);
    const physics = await call("aovift_simulate", { out: "d.pt", samples: 2, microscope: { lateralVoxelUm: 0.3 } });
    expect(physics).toMatch(/aovift_simulate failed: .*Nyquist/);
  }, 300_000);
});
