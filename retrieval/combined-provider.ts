import type { ContextProvider, RetrievedChunk } from "../core/types.js";
import { deduplicateChunks } from "./step-context.js";
import { fitToTokenBudget } from "./token-budget.js";

/**
 * One ContextProvider over several (the docs store and the experience memory): each is asked the same
 * query, results are interleaved by rank, de-duplicated and fitted into the token budget.
 */
export function combineProviders(providers: ContextProvider[]): ContextProvider {
  return {
    async retrieve(query) {
      const lists = await Promise.all(providers.map((provider) => provider.retrieve(query)));
      const interleaved: RetrievedChunk[] = [];
      const longest = Math.max(0, ...lists.map((list) => list.length));
      for (let rank = 0; rank < longest; rank += 1) for (const list of lists) if (list[rank]) interleaved.push(list[rank]);
      const unique = deduplicateChunks(interleaved).slice(0, query.limit ?? interleaved.length);
      return query.tokenBudget ? fitToTokenBudget(unique, query.tokenBudget) : unique;
    },
  };
}
