import { readFileSync, readdirSync, existsSync, statSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { KernelSpecSchema, type KernelSpec } from "./spec.js";
import { UserError } from "./errors.js";

/** Formats zod issues as `path: message` lines. */
export function formatZodIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.length ? issue.path.map((part) => (typeof part === "number" ? `[${part}]` : part)).join(".").replace(/\.\[/g, "[") : "(root)";
      return `  - ${path}: ${issue.message}`;
    })
    .join("\n");
}

/** Validates an object as a kernel spec; `origin` names the file in the error. */
export function parseSpec(data: unknown, origin: string): KernelSpec {
  const result = KernelSpecSchema.safeParse(data);
  if (!result.success) {
    throw new UserError("invalid_spec", `invalid spec ${origin}:\n${formatZodIssues(result.error)}`);
  }
  return result.data;
}

/** Loads one spec from a YAML or JSON file. */
export function loadSpecFile(path: string): KernelSpec {
  if (!existsSync(path)) throw new UserError("spec_not_found", `spec file not found: ${path}`);
  const text = readFileSync(path, "utf8");
  let data: unknown;
  try {
    data = extname(path) === ".json" ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new UserError("invalid_spec", `invalid spec ${path}: cannot parse ${extname(path).slice(1) || "file"}: ${(error as Error).message}`);
  }
  return parseSpec(data, path);
}

/** Loads every .yaml/.yml/.json spec in a folder, sorted by id; ids must be unique. */
export function loadSpecDirectory(directory: string): KernelSpec[] {
  if (!existsSync(directory) || !statSync(directory).isDirectory()) return [];
  const specs: KernelSpec[] = [];
  const seen = new Map<string, string>();
  for (const name of readdirSync(directory).sort()) {
    if (!/\.(ya?ml|json)$/.test(name)) continue;
    const path = join(directory, name);
    const spec = loadSpecFile(path);
    const earlier = seen.get(spec.id);
    if (earlier) throw new UserError("duplicate_id", `duplicate spec id '${spec.id}' in ${path} and ${earlier}`);
    seen.set(spec.id, path);
    specs.push(spec);
  }
  return specs.sort((a, b) => a.id.localeCompare(b.id));
}

/** True when a CLI argument names a spec file rather than a spec id. */
export function looksLikeSpecPath(argument: string): boolean {
  return /\.(ya?ml|json)$/.test(basename(argument)) || argument.includes("/");
}
