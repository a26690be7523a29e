import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../core/errors.js";
import { parseDocument, type KnowledgeDocument } from "./document.js";

function markdownFiles(folder: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(folder, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) files.push(...markdownFiles(path));
    else if (entry.isFile() && entry.name.endsWith(".md") && entry.name.toLowerCase() !== "readme.md") files.push(path);
  }
  return files;
}

/** Reads every markdown document (recursively, README.md excepted) from the given folders; ids must be unique. */
export function loadDocuments(folders: string[]): KnowledgeDocument[] {
  const documents: KnowledgeDocument[] = [];
  const seen = new Map<string, string>();
  for (const folder of folders) {
    let isFolder = false;
    try {
      isFolder = statSync(folder).isDirectory();
    } catch {
      isFolder = false;
    }
    if (!isFolder) throw new UserError("docs_folder", `Docs folder not found: ${folder}`);
    for (const file of markdownFiles(folder)) {
      const document = parseDocument(readFileSync(file, "utf8"), file);
      const previous = seen.get(document.metadata.id);
      if (previous) throw new UserError("document_duplicate", `Duplicate document id '${document.metadata.id}' in ${document.origin} and ${previous}`);
      seen.set(document.metadata.id, document.origin);
      documents.push(document);
    }
  }
  return documents;
}
