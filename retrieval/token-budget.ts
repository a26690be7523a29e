import type { RetrievedChunk } from "../core/types.js";
import { PROMPT_SECTION_HEADER, formatChunk } from "./prompt-section.js";

/** Rough token count of a text: about four characters per token for English and code. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/**
 * Keeps chunks, in the given order, while the rendered prompt section stays within the budget; a chunk
 * too large to fit is skipped so a smaller, lower-ranked one may still be used.
 */
export function fitToTokenBudget(chunks: RetrievedChunk[], tokenBudget: number): RetrievedChunk[] {
  if (!Number.isFinite(tokenBudget) || tokenBudget < 0) throw new RangeError(`tokenBudget must be a non-negative number, got ${tokenBudget}`);
  // The section is header + "\n" + chunks joined by "\n": count exactly what promptSection renders.
  let used = PROMPT_SECTION_HEADER.length + 1;
  const kept: RetrievedChunk[] = [];
  for (const chunk of chunks) {
    const cost = formatChunk(chunk).length + (kept.length > 0 ? 1 : 0);
    if (Math.ceil((used + cost) / 4) > tokenBudget) continue;
    used += cost;
    kept.push(chunk);
  }
  return kept;
}
