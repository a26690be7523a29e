import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { loadSpecFile } from "../../core/spec-loader.js";

/**
 * Maps the operators a profile measured hottest to the repository's specs that have seed kernels
 * (a LayerNorm, a GELU, a softmax), and writes, for each, a spec sized from the measured input
 * shape plus a copy of its seed kernels in `<outDir>/seeds/<platform>/<id>/`: with
 * `kernelevolve optimize <id> --specs-dir <outDir>` the autotune operator tunes it offline.
 */

/** A profiled operator row of `python -m pipelines.aovift profile`. */
export interface ProfiledOperator {
  name: string;
  calls: number;
  self_ms: number;
  total_ms: number;
  input_shapes?: number[][];
}

/** Torch operators that one seeded spec implements, and how its dimensions follow from the first input's shape. */
const SEEDED: { operators: string[]; spec: string; dimensions: (shape: number[]) => Record<string, number> }[] = [
  { operators: ["aten::native_layer_norm", "aten::layer_norm"], spec: "layernorm", dimensions: (shape) => rowsBy(shape, "R", "D") },
  { operators: ["aten::gelu"], spec: "gelu", dimensions: (shape) => rowsBy(shape, "R", "C") },
  { operators: ["aten::_softmax", "aten::softmax"], spec: "row-softmax", dimensions: (shape) => rowsBy(shape, "R", "C") },
];

function rowsBy(shape: number[], rows: string, columns: string): Record<string, number> {
  const last = shape.at(-1) ?? 1;
  return { [rows]: shape.slice(0, -1).reduce((product, value) => product * value, 1), [columns]: last };
}

/** One spec written from a measured operator. */
export interface SeededSpec {
  id: string;
  from: string;
  operator: string;
  selfMs: number;
  size: Record<string, number>;
  path: string;
  seeds: string[];
}

/**
 * Writes the seeded specs for the profiled operators (hottest first, one per spec) into outDir.
 * `seedsRoot` is the repository's seeds/ folder (specs/ and kernels/ inside).
 */
export function writeSeededSpecs(operators: ProfiledOperator[], options: { seedsRoot: string; outDir: string; prefix?: string }): SeededSpec[] {
  const prefix = options.prefix ?? "aovift";
  const written: SeededSpec[] = [];
  const ranked = [...operators].sort((a, b) => b.self_ms - a.self_ms);
  for (const row of ranked) {
    const match = SEEDED.find((entry) => entry.operators.includes(row.name));
    const shape = row.input_shapes?.[0];
    if (!match || !shape?.length || row.self_ms <= 0 || written.some((spec) => spec.from === match.spec)) continue;
    const specPath = join(options.seedsRoot, "specs", `${match.spec}.yaml`);
    const kernels = join(options.seedsRoot, "kernels");
    if (!existsSync(specPath) || !existsSync(kernels)) continue;
    const original = parse(readFileSync(specPath, "utf8")) as Record<string, unknown> & { sizes: Record<string, Record<string, number>>; description: string };
    const id = `${prefix}-${match.spec}`;
    const size = match.dimensions(shape);
    const [firstName, firstSize] = Object.entries(original.sizes)[0];
    const spec = {
      ...original,
      id,
      source: `${prefix} profile: ${row.name} on input ${JSON.stringify(shape)}`,
      description: `${original.description.trim()} Sized from the ${prefix} profile, where ${row.name} took ${row.self_ms} ms of self time in ${row.calls} calls.`,
      sizes: { [firstName]: firstSize, profiled: size },
    };
    mkdirSync(options.outDir, { recursive: true });
    const path = join(options.outDir, `${id}.yaml`);
    writeFileSync(path, stringify(spec));
    loadSpecFile(path); // the written spec must be valid, or nothing is claimed
    const seeds: string[] = [];
    for (const platform of readdirSync(kernels)) {
      const from = join(kernels, platform, match.spec);
      if (!existsSync(from)) continue;
      const to = join(options.outDir, "seeds", platform, id);
      mkdirSync(to, { recursive: true });
      for (const file of readdirSync(from)) {
        copyFileSync(join(from, file), join(to, file));
        seeds.push(join(to, file));
      }
    }
    written.push({ id, from: match.spec, operator: row.name, selfMs: row.self_ms, size, path, seeds });
  }
  return written;
}
