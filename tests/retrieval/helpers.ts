import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { HashingEmbedder } from "../../retrieval/hashing-embedder.js";
import type { Embedder } from "../../retrieval/embedder.js";
import { parseDocument, type KnowledgeDocument } from "../../retrieval/document.js";

/** The repository's seeds/docs folder. */
export const SEED_DOCS = fileURLToPath(new URL("../../seeds/docs", import.meta.url));

/** A fresh temporary folder. */
export function temporaryDirectory(prefix = "ke-retrieval-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Hashing embedder that counts the texts it embeds, to check incremental updates. */
export class CountingEmbedder implements Embedder {
  readonly inner = new HashingEmbedder({ dimensions: 128 });
  readonly id = this.inner.id;
  readonly dimensions = this.inner.dimensions;
  embeddedTexts: string[] = [];
  async embedDocuments(texts: string[]): Promise<number[][]> {
    this.embeddedTexts.push(...texts);
    return this.inner.embedDocuments(texts);
  }
  async embedQuery(text: string): Promise<number[]> {
    return this.inner.embedQuery(text);
  }
}

/** Builds a small document from front-matter fields and a body. */
export function makeDocument(id: string, body: string, platform = "cpu", language = "cpp"): KnowledgeDocument {
  return parseDocument(`---\nid: ${id}\ntitle: ${id} title\nplatform: ${platform}\nlanguage: ${language}\ntopic: test\ntags: [${id}]\n---\n${body}`, `${id}.md`);
}
