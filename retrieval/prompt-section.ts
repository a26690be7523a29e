import type { RetrievedChunk } from "../core/types.js";

/** Heading and one line of guidance that open the prompt section. */
export const PROMPT_SECTION_HEADER =
  "## Retrieved knowledge\nNotes from the knowledge base and past successful kernels, chosen for this step. Apply what fits the target; ignore what does not.\n";

/** Renders one chunk as it appears in a prompt: a heading with its id, then its text. */
export function formatChunk(chunk: RetrievedChunk): string {
  const origin = chunk.source === "experience" ? "past kernel" : "docs";
  return `### ${chunk.title} [${chunk.id}] (${origin})\n${chunk.text.trim()}\n`;
}

/**
 * Turns retrieved chunks into the prompt section the operator inserts; empty string when there are none.
 * @example promptSection(await store.retrieve({ text: "warp reduction", platform: "cuda", tokenBudget: 1500 }))
 */
export function promptSection(chunks: RetrievedChunk[]): string {
  if (chunks.length === 0) return "";
  return `${PROMPT_SECTION_HEADER}\n${chunks.map(formatChunk).join("\n")}`;
}
