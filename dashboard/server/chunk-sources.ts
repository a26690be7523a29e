import { relative } from "node:path";
import { chunkDocument } from "../../retrieval/chunking.js";
import { loadDocuments } from "../../retrieval/load-documents.js";

/** What the dashboard shows of a retrieved chunk beyond its id. */
export interface ChunkSource {
  /** The knowledge file it was cut from, relative to the repository root when inside it. */
  file: string;
  title: string;
  text: string;
}

/**
 * Maps a retrieved chunk id (`<documentId>#<section>`) to the knowledge file it came from and its
 * text, by chunking the docs folders the same way the knowledge store does. Read once, on the first
 * lookup; a chunk whose section changed since the run shows its file only.
 */
export function chunkSourceResolver(docsFolders: string[], root: string): (chunkId: string) => ChunkSource | { file: string } | null {
  let files: Map<string, string> | undefined;
  let chunks: Map<string, ChunkSource> | undefined;
  const load = () => {
    files = new Map();
    chunks = new Map();
    for (const folder of docsFolders) {
      try {
        for (const document of loadDocuments([folder])) {
          const path = relative(root, document.origin);
          const file = path.startsWith("..") ? document.origin : path;
          files.set(document.metadata.id, file);
          for (const chunk of chunkDocument(document)) chunks.set(chunk.id, { file, title: chunk.title, text: chunk.text });
        }
      } catch {
        // a missing or broken docs folder: its chunks show without a file
      }
    }
  };
  return (chunkId) => {
    if (!files || !chunks) load();
    const chunk = chunks!.get(chunkId);
    if (chunk) return chunk;
    const file = files!.get(chunkId.split("#")[0]);
    return file ? { file } : null;
  };
}
