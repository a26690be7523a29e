import { createHash } from "node:crypto";

/**
 * The key under which a run remembers a candidate's source, so no source is evaluated twice.
 * Trailing whitespace and line-ending differences do not make a new candidate.
 */
export function sourceHash(language: string, source: string): string {
  const normalised = source.replace(/\r\n/g, "\n").replace(/[ \t]+$/gm, "").trim();
  return createHash("sha256").update(`${language}\n${normalised}`).digest("hex").slice(0, 24);
}
