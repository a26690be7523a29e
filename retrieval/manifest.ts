import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { z } from "zod";
import { SystemError } from "../core/errors.js";

/** One chunk as persisted next to the vector index. */
export const ChunkRecordSchema = z.object({
  label: z.number().int().nonnegative().describe("Integer label of the vector in the hnswlib index"),
  id: z.string().describe("Chunk id, `<documentId>#<section>`"),
  documentId: z.string().describe("Id of the document the chunk came from"),
  title: z.string().describe("Document title and section heading"),
  text: z.string().describe("Markdown text of the chunk"),
  platform: z.array(z.string()).describe("Platforms it applies to, or ['any']"),
  language: z.array(z.string()).describe("Languages it applies to, or ['any']"),
  topic: z.string().describe("Broad topic from the front-matter"),
  tags: z.array(z.string()).describe("Keywords from the front-matter"),
  hash: z.string().describe("sha256 of the embedded text; a changed hash means re-embedding"),
  deleted: z.boolean().describe("Marked deleted in the vector index (removed or superseded)"),
  data: z.record(z.unknown()).optional().describe("Extra structured data (experience entries: speed-up, strategy, params)"),
});
export type ChunkRecord = z.infer<typeof ChunkRecordSchema>;

/** The manifest file: which embedder built the index and every chunk ever added. */
export const ManifestSchema = z.object({
  version: z.literal(1).describe("Manifest format version"),
  embedder: z.object({ id: z.string(), dimensions: z.number().int().positive() }).describe("Embedder that produced the vectors"),
  source: z.enum(["docs", "experience"]).describe("What the store holds"),
  chunks: z.array(ChunkRecordSchema).describe("Chunk records, indexed by label"),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/** Reads a manifest, or returns undefined when there is none; a corrupt one is a SystemError. */
export function readManifest(path: string): Manifest | undefined {
  if (!existsSync(path)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new SystemError("index_corrupt", `Index manifest ${path} is not valid JSON (${(error as Error).message}); rebuild the index`);
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) throw new SystemError("index_corrupt", `Index manifest ${path} is malformed: ${parsed.error.issues[0]?.message}; rebuild the index`);
  return parsed.data;
}

/** Writes a file atomically (temporary file, then rename) so a crash never leaves half a manifest. */
export function writeFileAtomic(path: string, content: string | Buffer): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, content);
  renameSync(temporary, path);
}
