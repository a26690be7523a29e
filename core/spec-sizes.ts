/**
 * Which sizes of a spec are timed and which are only checked (issue #12.4). Speed-up is judged at the spec's
 * representative sizes (default: the largest), never averaged with small sizes where per-call overhead dominates;
 * every evaluation also checks a generated "ragged" size whose extents are multiples of none of 2, 8, 16 or 64.
 *
 * The Python runtime (python/kernelevolve_runtime/contract/spec.py) implements the same rules; the shared cases in
 * tests/contract/spec-sizes.json run in both jest and pytest.
 */
import { resolveShape, type KernelSpec } from "./spec.js";

export const RAGGED_SIZE = "ragged";
/** Extents below this keep their value (heads, kernel sizes, channel counts of small layers). */
export const RAGGED_MINIMUM = 8;
/** The ragged size's footprint is brought under this fraction of the largest size's by halving outer dimensions. */
export const RAGGED_FOOTPRINT_FRACTION = 0.25;

const DTYPE_BYTES: Record<string, number> = { float32: 4, float64: 8, float16: 2, bfloat16: 2, int32: 4, int64: 8, uint8: 1, bool: 1 };

type SizedSpec = Pick<KernelSpec, "inputs" | "outputs" | "sizes"> & {
  representativeSizes?: string[];
  raggedSize?: boolean | Record<string, number>;
  kernelbench?: { structural?: string[] };
};

/** Bytes of every input and output at the given dimension values. */
export function sizeFootprint(spec: SizedSpec, dimensions: Record<string, number>): number {
  let total = 0;
  for (const tensor of [...spec.inputs, ...spec.outputs]) {
    const count = resolveShape(tensor.shape, dimensions).reduce((product, extent) => product * Math.max(extent, 0), 1);
    total += count * DTYPE_BYTES[tensor.dtype];
  }
  return total;
}

/** The spec's own sizes, without a ragged size (generated or written). */
export function declaredSizes(spec: SizedSpec): string[] {
  return Object.keys(spec.sizes).filter((name) => name !== RAGGED_SIZE);
}

/** The declared size with the largest footprint (the first of equals). */
export function largestSize(spec: SizedSpec): string {
  const names = declaredSizes(spec);
  let best = names[0];
  let bestBytes = sizeFootprint(spec, spec.sizes[best]);
  for (const name of names.slice(1)) {
    const bytes = sizeFootprint(spec, spec.sizes[name]);
    if (bytes > bestBytes) [best, bestBytes] = [name, bytes];
  }
  return best;
}

/** The sizes speed-up is judged at: spec.representativeSizes, else the largest size. */
export function representativeSizes(spec: SizedSpec): string[] {
  return spec.representativeSizes?.length ? [...spec.representativeSizes] : [largestSize(spec)];
}

/** A nearby extent that is a multiple of none of 2, 8, 16, 64: value - 3, made odd; small values stay. */
export function raggedValue(value: number): number {
  if (value < RAGGED_MINIMUM) return value;
  const ragged = value - 3;
  return ragged % 2 === 0 ? ragged - 1 : ragged;
}

/** The generated correctness-only size, or undefined when the spec turns it off (`raggedSize: false`). */
export function raggedDimensions(spec: SizedSpec): Record<string, number> | undefined {
  const setting = spec.raggedSize ?? true;
  if (setting === false) return undefined;
  if (typeof setting === "object") return { ...setting };
  if (spec.sizes[RAGGED_SIZE]) return { ...spec.sizes[RAGGED_SIZE] };
  const largest = largestSize(spec);
  const base: Record<string, number> = { ...spec.sizes[largest] };
  const fixed = new Set(spec.kernelbench?.structural ?? []);
  const inner = new Set<string>();
  for (const tensor of [...spec.inputs, ...spec.outputs]) {
    const last = tensor.shape[tensor.shape.length - 1];
    if (typeof last === "string" && last in base) inner.add(last);
  }
  const target = RAGGED_FOOTPRINT_FRACTION * sizeFootprint(spec, base);
  const order = Object.keys(base);
  for (let step = 0; step < 64 && sizeFootprint(spec, base) > target; step++) {
    const candidates = order.filter((name) => !inner.has(name) && !fixed.has(name) && base[name] >= 2 * RAGGED_MINIMUM);
    if (!candidates.length) break;
    // Largest first; the earlier dimension among equals.
    const biggest = candidates.reduce((best, name) => (base[name] > base[best] ? name : best));
    base[biggest] = Math.floor(base[biggest] / 2);
  }
  return Object.fromEntries(order.map((name) => [name, fixed.has(name) ? base[name] : raggedValue(base[name])]));
}

/** Checked sizes, timed sizes and flags of one evaluation (see python/kernelevolve_runtime/contract/spec.py evaluation_plan). */
export function evaluationPlan(spec: SizedSpec, requested?: string[]): { checked: string[]; timed: string[]; flags: string[] } {
  const chosen = requested?.length ? [...requested] : declaredSizes(spec);
  const checked = [...chosen];
  if (raggedDimensions(spec) && !checked.includes(RAGGED_SIZE)) checked.push(RAGGED_SIZE);
  const representative = new Set(representativeSizes(spec));
  let timed = chosen.filter((name) => representative.has(name) && name !== RAGGED_SIZE);
  const flags: string[] = [];
  if (!timed.length) {
    timed = chosen.filter((name) => name !== RAGGED_SIZE);
    flags.push("timed-non-representative");
  }
  return { checked, timed, flags };
}
