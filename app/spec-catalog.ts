import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { UserError } from "../core/errors.js";
import { loadSpecDirectory, loadSpecFile, looksLikeSpecPath } from "../core/spec-loader.js";
import type { KernelSpec } from "../core/spec.js";

/** Where specs are looked up: the seeds plus any extra folders (from flags, config or plugins). */
export interface SpecSources {
  /** Repository root; its seeds/specs is always searched first. */
  root: string;
  /** The user's working directory, against which spec file paths are resolved. */
  cwd: string;
  /** More folders of .yaml/.yml/.json specs. */
  extraDirectories?: string[];
}

/** A spec together with where it came from and which seed kernels exist for it. */
export interface SpecEntry {
  spec: KernelSpec;
  /** Folder it was loaded from (or the file, when given by path). */
  origin: string;
  /** Platforms for which seeds/kernels/<platform>/<id>/ holds a baseline. */
  baselines: string[];
  /** Platforms for which seeds/kernels/<platform>/<id>/ holds a template. */
  templates: string[];
}

/** The folders searched for spec ids, seeds first, without duplicates. */
export function specDirectories(sources: SpecSources): string[] {
  const directories = [join(sources.root, "seeds", "specs"), ...(sources.extraDirectories ?? []).map((directory) => resolve(sources.cwd, directory))];
  return [...new Set(directories)];
}

function seedKernelFiles(root: string, id: string, prefix: "baseline" | "template"): string[] {
  const kernelsRoot = join(root, "seeds", "kernels");
  if (!existsSync(kernelsRoot)) return [];
  return readdirSync(kernelsRoot)
    .filter((platform) => {
      const folder = join(kernelsRoot, platform, id);
      return existsSync(folder) && readdirSync(folder).some((file) => file.startsWith(`${prefix}.`));
    })
    .sort();
}

/** The seed kernel file of a spec for a platform (e.g. seeds/kernels/cpu/layernorm/baseline.cpp), if any. */
export function seedKernelPath(root: string, platform: string, id: string, kind: "baseline" | "template" = "baseline"): string | undefined {
  const folder = join(root, "seeds", "kernels", platform, id);
  if (!existsSync(folder)) return undefined;
  const file = readdirSync(folder).sort().find((name) => name.startsWith(`${kind}.`));
  return file ? join(folder, file) : undefined;
}

function entryFor(spec: KernelSpec, origin: string, root: string): SpecEntry {
  return { spec, origin, baselines: seedKernelFiles(root, spec.id, "baseline"), templates: seedKernelFiles(root, spec.id, "template") };
}

/** Loads every spec of every folder, sorted by id; the same id in two folders is an error naming both. */
export function listSpecs(sources: SpecSources): SpecEntry[] {
  const entries = new Map<string, SpecEntry>();
  for (const directory of specDirectories(sources)) {
    for (const spec of loadSpecDirectory(directory)) {
      const earlier = entries.get(spec.id);
      if (earlier) throw new UserError("duplicate_id", `spec id '${spec.id}' is defined in both ${earlier.origin} and ${directory}`);
      entries.set(spec.id, entryFor(spec, directory, sources.root));
    }
  }
  return [...entries.values()].sort((a, b) => a.spec.id.localeCompare(b.spec.id));
}

/**
 * Resolves a spec argument: a path to a YAML/JSON file, or an id among the spec folders.
 * @example resolveSpec("layernorm", { root, cwd }) // seeds/specs/layernorm.yaml
 */
export function resolveSpec(argument: string, sources: SpecSources): SpecEntry {
  if (!argument.trim()) throw new UserError("missing_spec", "no spec given: name a spec id (see 'kernelevolve specs') or a .yaml/.json file");
  if (looksLikeSpecPath(argument) || existsSync(resolve(sources.cwd, argument))) {
    const path = resolve(sources.cwd, argument);
    return entryFor(loadSpecFile(path), path, sources.root);
  }
  const entries = listSpecs(sources);
  const found = entries.find((entry) => entry.spec.id === argument);
  if (found) return found;
  const ids = entries.map((entry) => entry.spec.id);
  const close = ids.filter((id) => id.includes(argument) || argument.includes(id));
  const hint = close.length ? ` Did you mean ${close.map((id) => `'${id}'`).join(" or ")}?` : "";
  throw new UserError(
    "unknown_spec",
    `no spec named '${argument}'.${hint} Available: ${ids.join(", ") || "(none)"} (searched ${specDirectories(sources).join(", ")})`,
  );
}
