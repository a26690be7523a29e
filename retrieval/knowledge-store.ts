import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import hnswlib from "hnswlib-node";
import type { ContextProvider, RetrievedChunk } from "../core/types.js";
import { UserError } from "../core/errors.js";
import { Bm25Index } from "./bm25-index.js";
import { chunkDocument, type Chunk, type ChunkingOptions } from "./chunking.js";
import { matchesFilter, type KnowledgeDocument } from "./document.js";
import type { Embedder } from "./embedder.js";
import { HashingEmbedder } from "./hashing-embedder.js";
import { tokenize } from "./tokenize.js";
import { readManifest, writeFileAtomic, type ChunkRecord, type Manifest } from "./manifest.js";
import { fitToTokenBudget } from "./token-budget.js";

const { HierarchicalNSW } = hnswlib;
type HnswIndex = InstanceType<typeof HierarchicalNSW>;

/** Where and how a store keeps its index. */
export interface KnowledgeStoreOptions {
  /** Folder holding `vectors.hnsw` and `manifest.json`; created when missing. */
  directory: string;
  /** Embedder; the offline HashingEmbedder by default. */
  embedder?: Embedder;
  /** What the store holds; shown in retrieved chunks. */
  source?: "docs" | "experience";
  /** Drop whatever is on disk and start empty. */
  rebuild?: boolean;
  /** hnswlib graph parameters. */
  hnsw?: { m?: number; efConstruction?: number; efSearch?: number };
  /** Weights in reciprocal-rank fusion: vector and BM25 rankings, and the front-matter tag match. */
  fusion?: { vector?: number; lexical?: number; tags?: number; k?: number };
  chunking?: ChunkingOptions;
  /** Hits found only by the vector search need at least this cosine similarity (noise floor; default 0.25, above the chance similarity of hashed vectors). */
  minVectorScore?: number;
}

/** A search request; platform and language filter on the documents' front-matter. */
export interface SearchQuery {
  text: string;
  platform?: string;
  language?: string;
  limit?: number;
}

/** One ranked chunk with the scores that placed it. */
export interface SearchHit {
  chunk: ChunkRecord;
  /** Fused reciprocal-rank score. */
  score: number;
  /** Cosine similarity of the query and chunk vectors (0 when the vector search did not return it). */
  vectorScore: number;
  /** BM25 score (0 when the lexical search did not return it). */
  lexicalScore: number;
}

/** What an update changed, for logs and tests. */
export interface SyncReport {
  added: number;
  updated: number;
  unchanged: number;
  deleted: number;
  /** Texts sent to the embedder. */
  embedded: number;
  /** Live chunks after the update. */
  total: number;
}

function hashText(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Text that is embedded and lexically indexed: title and tags give short sections their context. */
function indexedText(chunk: Pick<Chunk, "title" | "tags" | "text">): string {
  return `${chunk.title}\n${chunk.tags.join(" ")}\n${chunk.text}`;
}

/**
 * The retrieval-augmented prompt store: markdown chunks in an hnswlib (cosine) index persisted on
 * disk with a JSON manifest, updated incrementally by content hash, ranked by fusing vector
 * similarity with BM25. Implements ContextProvider for the operator's prompts.
 */
export class KnowledgeStore implements ContextProvider {
  readonly directory: string;
  readonly embedder: Embedder;
  readonly source: "docs" | "experience";
  private readonly options: KnowledgeStoreOptions;
  private records: ChunkRecord[] = [];
  private readonly liveById = new Map<string, ChunkRecord>();
  private readonly lexical = new Bm25Index();
  private vectors!: HnswIndex;
  /** Terms of each live chunk's document title and tags, by label: curated, so a match is a strong signal. */
  private readonly tagTerms = new Map<number, Set<string>>();
  /** Why the store started empty although files existed (embedder changed), if it did. */
  resetReason?: string;

  private constructor(options: KnowledgeStoreOptions) {
    this.options = options;
    this.directory = options.directory;
    this.embedder = options.embedder ?? new HashingEmbedder();
    this.source = options.source ?? "docs";
  }

  /** Opens (or creates) a store in a folder, loading the persisted index when it matches the embedder. */
  static async open(options: KnowledgeStoreOptions): Promise<KnowledgeStore> {
    if (!options.directory) throw new UserError("store_directory", "KnowledgeStore.open: a directory is required");
    const store = new KnowledgeStore(options);
    mkdirSync(store.directory, { recursive: true });
    if (options.rebuild) {
      rmSync(store.indexPath, { force: true });
      rmSync(store.manifestPath, { force: true });
    }
    store.load();
    return store;
  }

  private get indexPath(): string {
    return join(this.directory, "vectors.hnsw");
  }

  private get manifestPath(): string {
    return join(this.directory, "manifest.json");
  }

  private createIndex(capacity: number): void {
    this.vectors = new HierarchicalNSW("cosine", this.embedder.dimensions);
    const hnsw = this.options.hnsw ?? {};
    this.vectors.initIndex({ maxElements: Math.max(capacity, 64), m: hnsw.m ?? 16, efConstruction: hnsw.efConstruction ?? 100, randomSeed: 42 });
  }

  private load(): void {
    const manifest = readManifest(this.manifestPath);
    const matches =
      manifest && manifest.embedder.id === this.embedder.id && manifest.embedder.dimensions === this.embedder.dimensions && existsSync(this.indexPath);
    if (manifest && !matches) {
      this.resetReason = existsSync(this.indexPath)
        ? `index was built by embedder '${manifest.embedder.id}', not '${this.embedder.id}'`
        : "vector index file is missing";
    }
    if (!manifest || !matches) {
      this.records = [];
      this.createIndex(1024);
      return;
    }
    this.vectors = new HierarchicalNSW("cosine", this.embedder.dimensions);
    this.vectors.readIndexSync(this.indexPath);
    this.records = manifest.chunks;
    for (const record of this.records) {
      if (record.deleted) continue;
      this.liveById.set(record.id, record);
      this.indexRecord(record);
    }
  }

  /** Writes the vector index and the manifest (index first: the manifest names what it holds). */
  save(): void {
    const temporary = `${this.indexPath}.${process.pid}.tmp`;
    this.vectors.writeIndexSync(temporary);
    renameSync(temporary, this.indexPath);
    const manifest: Manifest = {
      version: 1,
      embedder: { id: this.embedder.id, dimensions: this.embedder.dimensions },
      source: this.source,
      chunks: this.records,
    };
    writeFileAtomic(this.manifestPath, JSON.stringify(manifest));
  }

  /** Number of live (not deleted) chunks. */
  get size(): number {
    return this.liveById.size;
  }

  /** Live chunk records, in label order. */
  chunks(): ChunkRecord[] {
    return this.records.filter((record) => !record.deleted);
  }

  /** Makes the index hold exactly these documents: changed chunks re-embedded, vanished ones deleted. */
  async sync(documents: KnowledgeDocument[]): Promise<SyncReport> {
    const chunks = documents.flatMap((document) => chunkDocument(document, this.options.chunking));
    return this.applyChunks(chunks, { prune: "all" });
  }

  /**
   * Adds or replaces chunks. prune "documents": chunks of the documents named here that are not in the
   * list are deleted; "all": every chunk not in the list is deleted; "none": nothing else changes.
   */
  async applyChunks(
    chunks: (Chunk & { data?: Record<string, unknown> })[],
    options: { prune: "documents" | "all" | "none"; save?: boolean; batchSize?: number },
  ): Promise<SyncReport> {
    const report: SyncReport = { added: 0, updated: 0, unchanged: 0, deleted: 0, embedded: 0, total: 0 };
    const incoming = new Map<string, Chunk & { data?: Record<string, unknown> }>();
    for (const chunk of chunks) {
      if (incoming.has(chunk.id)) throw new UserError("chunk_duplicate", `Duplicate chunk id '${chunk.id}'`);
      incoming.set(chunk.id, chunk);
    }
    const documentIds = new Set(chunks.map((chunk) => chunk.documentId));
    for (const record of [...this.liveById.values()]) {
      const keep = incoming.has(record.id) || options.prune === "none" || (options.prune === "documents" && !documentIds.has(record.documentId));
      if (!keep) {
        this.markDeleted(record);
        report.deleted += 1;
      }
    }
    const pending: { chunk: Chunk & { data?: Record<string, unknown> }; hash: string; text: string }[] = [];
    for (const chunk of incoming.values()) {
      const text = indexedText(chunk);
      const hash = hashText(text);
      const existing = this.liveById.get(chunk.id);
      if (existing && existing.hash === hash) {
        report.unchanged += 1;
        continue;
      }
      if (existing) {
        this.markDeleted(existing);
        report.updated += 1;
      } else {
        report.added += 1;
      }
      pending.push({ chunk, hash, text });
    }
    const batchSize = options.batchSize ?? 256;
    for (let start = 0; start < pending.length; start += batchSize) {
      const batch = pending.slice(start, start + batchSize);
      const vectors = await this.embedder.embedDocuments(batch.map((item) => item.text));
      if (vectors.length !== batch.length) throw new Error(`Embedder ${this.embedder.id} returned ${vectors.length} vectors for ${batch.length} texts`);
      report.embedded += batch.length;
      this.ensureCapacity(this.records.length + batch.length);
      batch.forEach(({ chunk, hash, text }, index) => {
        const label = this.records.length;
        const record: ChunkRecord = {
          label,
          id: chunk.id,
          documentId: chunk.documentId,
          title: chunk.title,
          text: chunk.text,
          platform: chunk.platform,
          language: chunk.language,
          topic: chunk.topic,
          tags: chunk.tags,
          hash,
          deleted: false,
          ...(chunk.data ? { data: chunk.data } : {}),
        };
        this.vectors.addPoint(vectors[index], label);
        this.records.push(record);
        this.indexRecord(record);
      });
    }
    report.total = this.liveById.size;
    if (options.save !== false) this.save();
    return report;
  }

  /** Deletes every live chunk of the given documents and saves; returns how many were deleted. */
  removeDocuments(documentIds: string[]): number {
    const doomed = new Set(documentIds);
    let deleted = 0;
    for (const record of [...this.liveById.values()]) {
      if (!doomed.has(record.documentId)) continue;
      this.markDeleted(record);
      deleted += 1;
    }
    if (deleted > 0) this.save();
    return deleted;
  }

  private indexRecord(record: ChunkRecord): void {
    this.liveById.set(record.id, record);
    this.lexical.add(record.label, indexedText(record));
    const documentTitle = record.title.split(" > ")[0];
    this.tagTerms.set(record.label, new Set(tokenize(`${documentTitle} ${record.tags.join(" ")}`)));
  }

  private markDeleted(record: ChunkRecord): void {
    record.deleted = true;
    this.vectors.markDelete(record.label);
    this.liveById.delete(record.id);
    this.lexical.remove(record.label);
    this.tagTerms.delete(record.label);
  }

  private ensureCapacity(needed: number): void {
    const capacity = this.vectors.getMaxElements();
    if (needed > capacity) this.vectors.resizeIndex(Math.max(needed, capacity * 2));
  }

  /** Hybrid search: vector and BM25 candidates fused by reciprocal rank, filtered by front-matter. */
  async search(query: SearchQuery): Promise<SearchHit[]> {
    const text = query.text?.trim();
    if (!text) throw new UserError("search_query", "A search query must not be empty");
    const limit = query.limit ?? 5;
    if (!Number.isInteger(limit) || limit < 1) throw new UserError("search_limit", `limit must be a positive integer, got ${query.limit}`);
    if (this.liveById.size === 0) return [];
    const filtered = query.platform !== undefined || query.language !== undefined;
    const filter = filtered
      ? (label: number) => {
          const record = this.records[label];
          return record !== undefined && !record.deleted && matchesFilter(record, query);
        }
      : undefined;
    const depth = Math.min(Math.max(limit * 6, 40), this.vectors.getCurrentCount());
    this.vectors.setEf(Math.max(depth, this.options.hnsw?.efSearch ?? 64));
    const vector = await this.embedder.embedQuery(text);
    const nearest = this.vectors.searchKnn(vector, depth, filter);
    const lexical = this.lexical.search(text, depth, filter);

    const fusion = {
      vector: this.options.fusion?.vector ?? 1,
      lexical: this.options.fusion?.lexical ?? 1,
      tags: this.options.fusion?.tags ?? 0.5,
      k: this.options.fusion?.k ?? 20,
    };
    const hits = new Map<number, SearchHit>();
    const hitFor = (label: number): SearchHit => {
      let hit = hits.get(label);
      if (!hit) {
        hit = { chunk: this.records[label], score: 0, vectorScore: 0, lexicalScore: 0 };
        hits.set(label, hit);
      }
      return hit;
    };
    nearest.neighbors.forEach((label, rank) => {
      const hit = hitFor(label);
      hit.vectorScore = 1 - nearest.distances[rank];
      hit.score += fusion.vector / (fusion.k + rank + 1);
    });
    lexical.forEach(({ label, score }, rank) => {
      const hit = hitFor(label);
      hit.lexicalScore = score;
      hit.score += fusion.lexical / (fusion.k + rank + 1);
    });
    // A query whose terms name a document's tags or title (e.g. "tl.dot") prefers that document's
    // chunks over chunks that merely mention the term.
    const queryTerms = [...new Set(tokenize(text))];
    if (queryTerms.length > 0 && fusion.tags > 0) {
      for (const hit of hits.values()) {
        const tags = this.tagTerms.get(hit.chunk.label);
        if (!tags) continue;
        const matched = queryTerms.filter((term) => tags.has(term)).length;
        hit.score += (fusion.tags * (matched / queryTerms.length)) / (fusion.k + 1);
      }
    }
    // Nearest neighbours always exist; without a lexical match, a low cosine means "nothing relevant".
    const floor = this.options.minVectorScore ?? 0.25;
    return [...hits.values()]
      .filter((hit) => !hit.chunk.deleted && (hit.lexicalScore > 0 || hit.vectorScore >= floor))
      .sort((a, b) => b.score - a.score || a.chunk.label - b.chunk.label)
      .slice(0, limit);
  }

  /** ContextProvider: the best chunks for a query, trimmed to the token budget when one is given. */
  async retrieve(query: { text: string; platform?: string; language?: string; limit?: number; tokenBudget?: number }): Promise<RetrievedChunk[]> {
    const hits = await this.search(query);
    const chunks: RetrievedChunk[] = hits.map((hit) => ({
      id: hit.chunk.id,
      documentId: hit.chunk.documentId,
      title: hit.chunk.title,
      text: hit.chunk.text,
      score: hit.score,
      source: this.source,
    }));
    return query.tokenBudget === undefined ? chunks : fitToTokenBudget(chunks, query.tokenBudget);
  }
}
