import type { KnowledgeDocument } from "./document.js";

/** One retrievable piece of a document: a markdown section, or part of a long one. */
export interface Chunk {
  /** `<documentId>#<section-slug>[-<part>]`; stable while the section's heading stays. */
  id: string;
  documentId: string;
  /** Document title and section heading, e.g. "Warp shuffles > Reductions". */
  title: string;
  /** Markdown text of the section (heading included); code fences are always whole. */
  text: string;
  platform: string[];
  language: string[];
  topic: string;
  tags: string[];
}

/** Limits of the chunker, in characters. */
export interface ChunkingOptions {
  /** A section longer than this is split between paragraphs (never inside a code fence). */
  maxChars?: number;
  /** Sections shorter than this are merged into the previous chunk of the same document. */
  minChars?: number;
}

interface Block {
  text: string;
  heading?: { level: number; title: string };
}

const FENCE = /^\s*(```+|~~~+)/;

/**
 * Splits markdown into blocks: headings, fenced code blocks (whole) and paragraphs. Lines inside a
 * fence are never looked at as headings, so a `# comment` in Python code cannot start a section.
 */
export function markdownBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  let current: string[] = [];
  let fence: string | undefined;
  const flush = () => {
    const text = current.join("\n").trim();
    if (text) blocks.push({ text });
    current = [];
  };
  for (const line of markdown.split(/\r?\n/)) {
    const fenceMatch = FENCE.exec(line);
    if (fence) {
      current.push(line);
      if (fenceMatch && fenceMatch[1][0] === fence[0] && fenceMatch[1].length >= fence.length && line.trim() === fenceMatch[1]) {
        fence = undefined;
        flush();
      }
      continue;
    }
    if (fenceMatch) {
      flush();
      fence = fenceMatch[1];
      current.push(line);
      continue;
    }
    const heading = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      flush();
      blocks.push({ text: line.trim(), heading: { level: heading[1].length, title: heading[2] } });
      continue;
    }
    if (line.trim() === "") flush();
    else current.push(line);
  }
  // An unterminated fence still stays in one block.
  flush();
  return blocks;
}

function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 60) || "section"
  );
}

/** Splits a document into chunks that follow its sections and keep code fences whole. */
export function chunkDocument(document: KnowledgeDocument, options: ChunkingOptions = {}): Chunk[] {
  const maxChars = options.maxChars ?? 1800;
  const minChars = options.minChars ?? 240;
  const { metadata } = document;
  interface Section { heading: string; blocks: string[] }
  const sections: Section[] = [];
  let section: Section = { heading: "", blocks: [] };
  for (const block of markdownBlocks(document.body)) {
    // Level-1 headings repeat the title; levels 2 and 3 start sections; deeper ones stay inside.
    if (block.heading && block.heading.level <= 3) {
      if (section.blocks.length > 0 || section.heading) sections.push(section);
      section = { heading: block.heading.level === 1 ? "" : block.heading.title, blocks: block.heading.level === 1 ? [] : [block.text] };
      continue;
    }
    section.blocks.push(block.text);
  }
  if (section.blocks.length > 0) sections.push(section);

  interface Piece { heading: string; text: string }
  const pieces: Piece[] = [];
  for (const { heading, blocks } of sections) {
    if (blocks.length === 0) continue;
    let part: string[] = [];
    let length = 0;
    for (const block of blocks) {
      if (part.length > 0 && length + block.length + 2 > maxChars) {
        pieces.push({ heading, text: part.join("\n\n") });
        // Later parts repeat the heading so each chunk reads on its own.
        part = heading ? [`(${heading}, continued)`] : [];
        length = part.join("").length;
      }
      part.push(block);
      length += block.length + 2;
    }
    if (part.length > 0) pieces.push({ heading, text: part.join("\n\n") });
  }

  // Merge short pieces into their predecessor so a one-line section is not a chunk of its own.
  const merged: Piece[] = [];
  for (const piece of pieces) {
    const previous = merged[merged.length - 1];
    if (previous && piece.text.length < minChars && previous.text.length + piece.text.length + 2 <= maxChars) {
      previous.text = `${previous.text}\n\n${piece.text}`;
    } else {
      merged.push({ ...piece });
    }
  }

  const used = new Map<string, number>();
  return merged.map((piece) => {
    const base = `${metadata.id}#${slug(piece.heading || "overview")}`;
    const count = (used.get(base) ?? 0) + 1;
    used.set(base, count);
    return {
      id: count === 1 ? base : `${base}-${count}`,
      documentId: metadata.id,
      title: piece.heading ? `${metadata.title} > ${piece.heading}` : metadata.title,
      text: piece.text,
      platform: metadata.platform,
      language: metadata.language,
      topic: metadata.topic,
      tags: metadata.tags,
    };
  });
}
