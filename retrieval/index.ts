/** Public surface of the retrieval layer (imports only core). */
export type { Embedder } from "./embedder.js";
export { HashingEmbedder, type HashingEmbedderOptions } from "./hashing-embedder.js";
export { OpenAIEmbedder, type OpenAIEmbedderOptions } from "./openai-embedder.js";
export { tokenize } from "./tokenize.js";
export { DocumentMetadataSchema, parseDocument, matchesFilter, type DocumentMetadata, type KnowledgeDocument } from "./document.js";
export { loadDocuments } from "./load-documents.js";
export { chunkDocument, markdownBlocks, type Chunk, type ChunkingOptions } from "./chunking.js";
export { Bm25Index } from "./bm25-index.js";
export { KnowledgeStore, type KnowledgeStoreOptions, type SearchHit, type SearchQuery, type SyncReport } from "./knowledge-store.js";
export { estimateTokens, fitToTokenBudget } from "./token-budget.js";
export { promptSection, formatChunk, PROMPT_SECTION_HEADER } from "./prompt-section.js";
export {
  buildRetrievalQueries,
  retrieveStepContext,
  deduplicateChunks,
  diagnosticLines,
  textSimilarity,
  type RetrievalQuery,
  type StepContext,
  type StepContextInput,
} from "./step-context.js";
export { ExperienceMemory, type ExperienceEntry, type RunExperience } from "./experience-memory.js";
export { summarizeDiff, describeDiff, type DiffSummary } from "./diff-summary.js";
export { combineProviders } from "./combined-provider.js";
