import { existsSync, readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import type { Language } from "../../core/protocol.js";
import { isTemplate, parseTemplate, type KernelTemplate } from "../../agents/templates.js";
import type { NamedTemplate } from "../../agents/autotune-operator.js";

/** A kernel the run starts from: the naive baseline, a template, or any hand-written kernel. */
export interface SeedKernel {
  /** File name without extension, e.g. "baseline" or "template". */
  name: string;
  language: Language;
  source: string;
  /** Set when the source is a template; generation 0 evaluates its default instance. */
  template?: KernelTemplate;
}

/** Builds a seed from a source, parsing it as a template when it has the marker line. */
export function seedFromSource(name: string, language: Language, source: string): SeedKernel {
  return { name, language, source, template: isTemplate(source) ? parseTemplate(source, name) : undefined };
}

function languageOf(file: string, platformLanguages: readonly Language[]): Language | undefined {
  const extension = extname(file);
  if (extension === ".cpp" || extension === ".cc") return platformLanguages.includes("cpp") ? "cpp" : undefined;
  if (extension === ".cu") return platformLanguages.includes("cuda") ? "cuda" : undefined;
  if (extension === ".py") return platformLanguages.find((language) => language === "triton" || language === "python");
  return undefined;
}

/**
 * Reads the seed kernels of a spec for a platform from `<directory>/<platform>/<spec>/`: the
 * baseline first, then templates, then any other kernel, each in a language the platform runs.
 */
export function loadSeedKernels(directory: string, platform: { id: string; languages: readonly Language[] }, specId: string): SeedKernel[] {
  const folder = join(directory, platform.id, specId);
  if (!existsSync(folder)) return [];
  const seeds: SeedKernel[] = [];
  for (const file of readdirSync(folder).sort()) {
    const language = languageOf(file, platform.languages);
    if (!language) continue;
    seeds.push(seedFromSource(file.slice(0, -extname(file).length), language, readFileSync(join(folder, file), "utf8")));
  }
  const rank = (seed: SeedKernel) => (seed.name === "baseline" ? 0 : seed.template ? 1 : 2);
  return seeds.sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}

/** The templates among the seeds, in the form the autotune operator takes. */
export function seedTemplates(seeds: SeedKernel[]): NamedTemplate[] {
  return seeds.filter((seed) => seed.template).map((seed) => ({ name: seed.name, language: seed.language, template: seed.template! }));
}
