import type { Language } from "../core/protocol.js";
import type { CandidateRecord, ContextProvider, RetrievedChunk } from "../core/types.js";
import { UserError } from "../core/errors.js";
import type { Chunk } from "./chunking.js";
import { describeDiff, summarizeDiff } from "./diff-summary.js";
import type { Embedder } from "./embedder.js";
import { KnowledgeStore, type SyncReport } from "./knowledge-store.js";

/** What a finished run tells the memory. */
export interface RunExperience {
  runId: string;
  spec: { id: string; category: string; description: string };
  platform: string;
  /** Every candidate of the run (parents are looked up here for the diff summary). */
  candidates: CandidateRecord[];
  /** Only kernels at least this much faster than the reference are remembered (default 1.05). */
  minSpeedup?: number;
  /** At most this many kernels per run, best first (default 5). */
  maxKernels?: number;
}

/** One remembered kernel as returned by `entries()`. */
export interface ExperienceEntry {
  chunkId: string;
  runId: string;
  specId: string;
  candidateId: string;
  platform: string;
  language: string;
  speedup: number;
  strategy?: string;
  params?: Record<string, string>;
}

const SOURCE_LIMIT = 2400;

function kebab(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "") || "x";
}

function fenceLanguage(language: Language | string): string {
  return language === "cpp" ? "c++" : language === "triton" ? "python" : language;
}

/**
 * Memory of successful kernels across runs: each kept kernel is indexed with what changed against its
 * parent (strategy, parameters, line diff) and its speed-up, in its own persisted store, so later
 * runs on similar specs retrieve them (source "experience").
 */
export class ExperienceMemory implements ContextProvider {
  private constructor(private readonly store: KnowledgeStore) {}

  /** Opens (or creates) the memory in its own folder. */
  static async open(options: { directory: string; embedder?: Embedder }): Promise<ExperienceMemory> {
    return new ExperienceMemory(await KnowledgeStore.open({ directory: options.directory, embedder: options.embedder, source: "experience" }));
  }

  /** Number of remembered kernels. */
  get size(): number {
    return this.store.size;
  }

  /** Indexes the successful kernels of a finished run; recording the same run again replaces its entries. */
  async recordRun(run: RunExperience): Promise<SyncReport> {
    if (!run.runId) throw new UserError("experience_run", "recordRun: runId is required");
    const minSpeedup = run.minSpeedup ?? 1.05;
    const byId = new Map(run.candidates.map((candidate) => [candidate.id, candidate]));
    const winners = run.candidates
      .filter((candidate) => candidate.status === "passed" && candidate.fitness >= minSpeedup)
      .sort((a, b) => b.fitness - a.fitness)
      .slice(0, run.maxKernels ?? 5);
    const documentId = `exp-${kebab(run.spec.id)}-${kebab(run.runId)}`;
    const chunks: (Chunk & { data: Record<string, unknown> })[] = winners.map((candidate) => {
      const parent = candidate.parentIds.map((id) => byId.get(id)).find((value) => value !== undefined);
      const change = parent ? `Changes against parent ${parent.id} (speed-up ${parent.fitness.toFixed(2)}x): ${describeDiff(summarizeDiff(parent.source, candidate.source))}` : "A seed kernel (no parent).";
      const params = candidate.params && Object.keys(candidate.params).length
        ? `Parameters: ${Object.entries(candidate.params).map(([key, value]) => `${key}=${value}`).join(", ")}.`
        : "";
      const source = candidate.source.length > SOURCE_LIMIT ? `${candidate.source.slice(0, SOURCE_LIMIT)}\n/* ... truncated ... */` : candidate.source;
      const text = [
        `Past kernel for \`${run.spec.id}\` (${run.spec.category}: ${run.spec.description}) on ${run.platform}, ${candidate.language}: ${candidate.fitness.toFixed(2)}x faster than the reference, verified correct.`,
        candidate.strategy ? `Strategy: ${candidate.strategy}.` : "",
        params,
        change,
        `\`\`\`${fenceLanguage(candidate.language)}\n${source.replace(/```/g, "'''")}\n\`\`\``,
      ]
        .filter(Boolean)
        .join("\n");
      return {
        id: `${documentId}#${kebab(candidate.id)}`,
        documentId,
        title: `Past kernel: ${run.spec.id} on ${run.platform} (${candidate.fitness.toFixed(2)}x)`,
        text,
        platform: [run.platform],
        language: [candidate.language],
        topic: "experience",
        tags: [run.spec.category, run.spec.id, ...(candidate.strategy ? [candidate.strategy] : [])],
        data: {
          runId: run.runId,
          specId: run.spec.id,
          candidateId: candidate.id,
          speedup: candidate.fitness,
          strategy: candidate.strategy,
          params: candidate.params,
        },
      };
    });
    // prune "documents" only touches this run's document: other runs stay remembered.
    if (chunks.length === 0) {
      const deleted = this.store.removeDocuments([documentId]);
      return { added: 0, updated: 0, unchanged: 0, deleted, embedded: 0, total: this.store.size };
    }
    return this.store.applyChunks(chunks, { prune: "documents" });
  }

  /** Remembered kernels, best speed-up first. */
  entries(): ExperienceEntry[] {
    return this.store
      .chunks()
      .map((record) => {
        const data = (record.data ?? {}) as Record<string, unknown>;
        return {
          chunkId: record.id,
          runId: String(data.runId),
          specId: String(data.specId),
          candidateId: String(data.candidateId),
          platform: record.platform[0],
          language: record.language[0],
          speedup: Number(data.speedup),
          strategy: data.strategy as string | undefined,
          params: data.params as Record<string, string> | undefined,
        };
      })
      .sort((a, b) => b.speedup - a.speedup);
  }

  /** ContextProvider: past kernels similar to the query, as chunks with source "experience". */
  async retrieve(query: { text: string; platform?: string; language?: string; limit?: number; tokenBudget?: number }): Promise<RetrievedChunk[]> {
    return this.store.retrieve(query);
  }
}
