import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { LANGUAGES } from "../../core/languages.js";
import type { Language } from "../../core/protocol.js";
import { UserError } from "../../core/errors.js";

/** The files of one run folder (runs/<id>/). */
export function runPaths(folder: string) {
  return {
    database: join(folder, "run.sqlite"),
    checkpoints: join(folder, "checkpoints.sqlite"),
    kernels: join(folder, "kernels"),
    reportMarkdown: join(folder, "report.md"),
    reportHtml: join(folder, "report.html"),
  };
}

/** File extension of a kernel source in a given language. */
export function kernelExtension(language: Language): string {
  return LANGUAGES[language].extension;
}

/** A sortable, unique run id: UTC date and time, the spec id, four random hex digits. */
export function newRunId(specId: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
  return `${stamp}-${specId}-${randomBytes(2).toString("hex")}`;
}

/** Run ids found in a runs directory (folders holding a run database), newest first. */
export function listRunIds(runsDirectory: string): string[] {
  if (!existsSync(runsDirectory)) return [];
  return readdirSync(runsDirectory, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(runPaths(join(runsDirectory, entry.name)).database))
    .map((entry) => entry.name)
    .sort()
    .reverse();
}

/**
 * Finds a run folder from an id, a unique id prefix, "latest", or a path; the error lists what exists.
 */
export function resolveRunFolder(runsDirectory: string, reference: string): string {
  if (existsSync(runPaths(reference).database)) return resolve(reference);
  const ids = listRunIds(runsDirectory);
  if (reference === "latest" || reference === "last") {
    if (!ids.length) throw new UserError("run_not_found", `no runs in ${runsDirectory}`);
    return join(runsDirectory, ids[0]);
  }
  const matches = ids.filter((id) => id === reference || id.startsWith(reference));
  const exact = matches.find((id) => id === reference);
  if (exact) return join(runsDirectory, exact);
  if (matches.length === 1) return join(runsDirectory, matches[0]);
  if (matches.length > 1) throw new UserError("ambiguous_run", `'${reference}' matches several runs: ${matches.slice(0, 5).join(", ")}`);
  throw new UserError("run_not_found", `no run '${reference}' in ${runsDirectory}. ${ids.length ? `Recent: ${ids.slice(0, 5).join(", ")}` : "There are no runs yet."}`);
}
