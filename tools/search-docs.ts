import { tool } from "@langchain/core/tools";
import { z } from "zod";
import type { KnowledgeStore } from "../retrieval/knowledge-store.js";

/** Arguments the model passes to `search_docs`. */
export const SearchDocsInputSchema = z.object({
  query: z
    .string()
    .min(1)
    .describe("What to look up: a technique, an API name (tl.dot, __shfl_down_sync, #pragma omp), a hardware fact or an error message"),
  platform: z.string().optional().describe("Restrict to documents for one platform: cpu, cuda or triton"),
  limit: z.number().int().min(1).max(10).optional().describe("How many sections to return (default 4)"),
});

/**
 * Builds the `search_docs` LangChain tool over a knowledge store; it returns the matching sections
 * as text with their chunk ids, and advice when nothing matches.
 */
/** The tool's name (plugins may not reuse it). */
export const SEARCH_DOCS_TOOL_NAME = "search_docs";

export function createSearchDocsTool(store: KnowledgeStore) {
  return tool(
    async ({ query, platform, limit }) => {
      const hits = await store.search({ text: query, platform, limit: limit ?? 4 });
      if (hits.length === 0) {
        const scope = platform ? ` for platform '${platform}'` : "";
        return `No knowledge-base sections match "${query}"${scope} (${store.size} sections indexed). Try other words: an API name, the exact compiler message, or a broader topic${platform ? ", or search without the platform filter" : ""}.`;
      }
      const sections = hits.map((hit, index) => `[${index + 1}] ${hit.chunk.title} (id: ${hit.chunk.id})\n${hit.chunk.text.trim()}`);
      return `Found ${hits.length} section(s) for "${query}":\n\n${sections.join("\n\n---\n\n")}`;
    },
    {
      name: SEARCH_DOCS_TOOL_NAME,
      description:
        "Search the kernel-optimisation knowledge base (CPU SIMD/OpenMP, CUDA, Triton, hardware profiles, operator recipes, compiler error catalogues). Use it before writing a kernel and when a compile error or wrong result needs explaining.",
      schema: SearchDocsInputSchema,
    },
  );
}
