import { z } from "zod";
import { UserError } from "../core/errors.js";
import type { KnowledgeStore } from "./knowledge-store.js";

/** A labelled query: the text and the document ids a good answer contains. */
export const LabelledQuerySchema = z.object({
  query: z.string().min(1).describe("Query text, as an operator or a person would type it"),
  platform: z.string().optional().describe("Optional platform filter"),
  relevant: z.array(z.string().min(1)).min(1).describe("Ids of documents that answer the query"),
});
export type LabelledQuery = z.infer<typeof LabelledQuerySchema>;

/** Quality of a store on a labelled set, plus the queries it missed. */
export interface RetrievalQuality {
  recallAtK: number;
  meanReciprocalRank: number;
  k: number;
  misses: { query: string; got: string[] }[];
}

/** Validates a labelled query set (e.g. parsed JSON). */
export function parseLabelledQueries(raw: unknown): LabelledQuery[] {
  const parsed = z.array(LabelledQuerySchema).min(1).safeParse(raw);
  if (!parsed.success) throw new UserError("labelled_queries", `Bad labelled query set: ${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

/**
 * Recall@k (a query counts as found when any relevant document appears in the top k distinct
 * documents) and mean reciprocal rank of the first relevant document.
 */
export async function evaluateRetrieval(store: KnowledgeStore, queries: LabelledQuery[], k = 5): Promise<RetrievalQuality> {
  let found = 0;
  let reciprocal = 0;
  const misses: RetrievalQuality["misses"] = [];
  for (const item of queries) {
    // Ask for more chunks than k: several chunks may come from one document.
    const hits = await store.search({ text: item.query, platform: item.platform, limit: k * 4 });
    const documents: string[] = [];
    for (const hit of hits) if (!documents.includes(hit.chunk.documentId)) documents.push(hit.chunk.documentId);
    const rank = documents.findIndex((id) => item.relevant.includes(id));
    if (rank >= 0 && rank < k) found += 1;
    else misses.push({ query: item.query, got: documents.slice(0, k) });
    if (rank >= 0) reciprocal += 1 / (rank + 1);
  }
  return { recallAtK: found / queries.length, meanReciprocalRank: reciprocal / queries.length, k, misses };
}
