import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { EvaluationResult } from "../../core/protocol.js";
import type { RetrievedChunk } from "../../core/types.js";
import { RunDatabase } from "../../graphs/runs/run-database.js";
import { acquireRunLock, type RunLock } from "../../graphs/runs/run-lock.js";
import { chunkDocument } from "../../retrieval/chunking.js";
import { loadDocuments } from "../../retrieval/load-documents.js";
import { promptSection } from "../../retrieval/prompt-section.js";

/**
 * A run written through the run engine's own storage (RunDatabase + the owner lock), step by step,
 * for the dashboard's tests and benchmark: a seed, then generations of LLM-style children with
 * prompts that carry real retrieved chunks from seeds/docs, some failing (compile, correctness,
 * timeout), the rest timed on three sizes. Deterministic for a given seed number.
 */

const SIZES = ["small", "medium", "large"];
const STRATEGIES = ["vectorize rows", "fuse passes", "block over D", "unroll x4", "OpenMP rows", "Welford single pass"];

const BASE = `// Layer norm over rows: mean, variance, scale and shift.
#include <cmath>
#include <cstdint>

#define BLOCK 32
#define UNROLL 1

extern "C" void kernel(const float* x, const float* weight, const float* bias, float* y,
                       int64_t R, int64_t D, double eps) {
  for (int64_t r = 0; r < R; ++r) {
    const float* row = x + r * D;
    double mean = 0.0;
    for (int64_t d = 0; d < D; ++d) mean += row[d];
    mean /= static_cast<double>(D);
    double variance = 0.0;
    for (int64_t d = 0; d < D; ++d) variance += (row[d] - mean) * (row[d] - mean);
    variance /= static_cast<double>(D);
    const double inverse = 1.0 / std::sqrt(variance + eps);
    for (int64_t d = 0; d < D; ++d)
      y[r * D + d] = static_cast<float>((row[d] - mean) * inverse) * weight[d] + bias[d];
  }
}
`;

function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
}

function stats(median: number) {
  return { medianMs: median, minMs: median * 0.97, p90Ms: median * 1.04, meanMs: median * 1.01, stdMs: median * 0.02, repetitions: 30 };
}

export interface SyntheticRunOptions {
  runsDirectory: string;
  id?: string;
  seed?: number;
  budget?: number;
  /** Chunks per prompt. */
  chunksPerPrompt?: number;
}

export class SyntheticRun {
  readonly id: string;
  readonly folder: string;
  readonly db: RunDatabase;
  private readonly lock: RunLock;
  private readonly next: () => number;
  private readonly chunks: RetrievedChunk[];
  private readonly chunksPerPrompt: number;
  private best = 0;
  private bestId?: string;
  private generation = 0;
  private readonly started = Date.now();

  constructor(options: SyntheticRunOptions) {
    this.id = options.id ?? `20261207-120000-layernorm-${(options.seed ?? 1).toString(16).padStart(4, "0")}`;
    this.folder = join(options.runsDirectory, this.id);
    this.next = random(options.seed ?? 1);
    this.chunksPerPrompt = options.chunksPerPrompt ?? 3;
    const docs = loadDocuments([join(process.cwd(), "seeds", "docs", "cpu")]);
    this.chunks = docs.flatMap((document) => chunkDocument(document)).map((chunk) => ({ id: chunk.id, documentId: chunk.documentId, title: chunk.title, text: chunk.text, score: 1, source: "docs" as const }));
    mkdirSync(this.folder, { recursive: true });
    this.lock = acquireRunLock(this.folder, this.id, "optimize");
    this.db = RunDatabase.create(this.folder, {
      id: this.id,
      specId: "layernorm",
      platform: "cpu",
      operator: "llm:synthetic-model",
      policy: "ucb",
      config: { settings: { budget: { candidates: options.budget ?? 40 } } },
    });
  }

  /** Writes and evaluates the seed (generation 0). */
  seed(): string {
    const [stored] = this.db.insertCandidates([
      { generation: 0, parentIds: [], operator: "seed", strategy: "baseline", language: "cpp", source: BASE, sourceHash: hash(BASE) },
    ]);
    this.population.push({ id: stored.id, status: "pending", fitness: 0, source: BASE, parentIds: [] });
    this.evaluate(stored.id, 1.0, undefined);
    return stored.id;
  }

  private childSource(parent: string, index: number): string {
    const block = 16 << Math.floor(this.next() * 5);
    const unroll = 1 << Math.floor(this.next() * 3);
    let source = parent.replace(/#define BLOCK \d+/, `#define BLOCK ${block}`).replace(/#define UNROLL \d+/, `#define UNROLL ${unroll}`);
    if (this.next() < 0.5 && !source.includes("omp parallel"))
      source = source.replace("  for (int64_t r = 0; r < R; ++r) {", "  #pragma omp parallel for schedule(static)\n  for (int64_t r = 0; r < R; ++r) {");
    if (this.next() < 0.3 && !source.includes("omp simd"))
      source = source.replace("    for (int64_t d = 0; d < D; ++d) mean += row[d];", "    #pragma omp simd reduction(+:mean)\n    for (int64_t d = 0; d < D; ++d) mean += row[d];");
    return `${source.replace(/\n\/\/ variant \d+\n?$/, "").trimEnd()}\n// variant ${index}\n`;
  }

  /** Writes `count` children of good parents (pending), as the operator node does. */
  propose(count: number): string[] {
    this.generation += 1;
    // Kept in memory: the engine's RunDatabase.candidates() reads every row, too slow to call per generation at 5,000.
    const population = this.population;
    const passed = population.filter((candidate) => candidate.status === "passed").sort((a, b) => b.fitness - a.fitness);
    const pool = passed.length ? passed.slice(0, Math.max(4, Math.ceil(passed.length / 3))) : population;
    const items = Array.from({ length: count }, (_, index) => {
      const parent = pool[Math.floor(this.next() * pool.length)];
      const second = this.next() < 0.08 && pool.length > 1 ? pool[Math.floor(this.next() * pool.length)] : undefined;
      const chosen = Array.from({ length: this.chunksPerPrompt }, () => this.chunks[Math.floor(this.next() * this.chunks.length)]).filter(
        (chunk, position, all) => all.findIndex((other) => other.id === chunk.id) === position,
      );
      const strategy = STRATEGIES[Math.floor(this.next() * STRATEGIES.length)];
      const source = this.childSource(parent.source, population.length + index);
      const prompt = [
        "## Task\nWrite a faster CPU kernel for the spec layernorm (rows of D floats; out = (x - mean) / sqrt(var + eps) * weight + bias).",
        `## Parent ${parent.id} (${parent.fitness.toFixed(2)}x)\n\`\`\`cpp\n${parent.source}\`\`\``,
        promptSection(chosen),
        `## Strategy\n${strategy}`,
      ].join("\n\n");
      return {
        generation: this.generation,
        parentIds: second && second.id !== parent.id ? [parent.id, second.id] : [parent.id],
        operator: "llm:synthetic-model",
        strategy,
        language: "cpp" as const,
        source,
        sourceHash: hash(`${source}${this.generation}-${index}-${this.next()}`),
        prompt,
        reply: `Applying "${strategy}".\n\`\`\`cpp\n${source}\`\`\``,
        model: "synthetic-model",
        retrievedChunkIds: chosen.map((chunk) => chunk.id),
        tokens: { input: 900 + Math.floor(this.next() * 400), output: 300 + Math.floor(this.next() * 200) },
        costUsd: 0.0004,
      };
    });
    const stored = this.db.insertCandidates(items);
    for (const candidate of stored) this.population.push({ id: candidate.id, status: "pending", fitness: 0, source: candidate.source, parentIds: candidate.parentIds });
    return stored.map((candidate) => candidate.id);
  }

  private readonly population: { id: string; status: string; fitness: number; source: string; parentIds: string[] }[] = [];

  /** Evaluates pending candidates: about a quarter fail, the rest get a speed-up near their parent's. */
  evaluatePending(limit = Number.POSITIVE_INFINITY): number {
    const pending = this.population.filter((candidate) => candidate.status === "pending").slice(0, limit);
    for (const candidate of pending) {
      const parent = candidate.parentIds[0] ? this.population.find((item) => item.id === candidate.parentIds[0]) : undefined;
      const roll = this.next();
      if (roll < 0.1) this.evaluate(candidate.id, 0, { stage: "compile", reason: "compile_error", message: "g++ failed: expected ';' before '}' token" });
      else if (roll < 0.2) this.evaluate(candidate.id, 0, { stage: "correctness", reason: "wrong_output", message: "size medium: 412 of 65536 outputs outside tolerance" });
      else if (roll < 0.24) this.evaluate(candidate.id, 0, { stage: "timing", reason: "timeout", message: "exceeded the 10 s evaluation limit" });
      else {
        const base = Math.max(parent?.fitness ?? 1, 0.6);
        this.evaluate(candidate.id, Math.max(0.3, base * (0.75 + this.next() * 0.55)), undefined);
      }
    }
    return pending.length;
  }

  private evaluate(id: string, speedup: number, failure: { stage: EvaluationResult["stage"]; reason: string; message: string } | undefined): void {
    this.db.markStarted(id);
    let result: EvaluationResult;
    if (failure) {
      result = {
        status: "failed",
        stage: failure.stage,
        reason: failure.reason as EvaluationResult["reason"],
        message: failure.message,
        log: failure.stage === "compile" ? "kernel.cpp:14:5: error: expected ';' before '}' token" : "",
        platform: "cpu",
        staticFindings: [],
        trials: [],
        timings: [],
        flags: [],
        durations: { compile: 0.4, total: 0.6 },
      };
    } else {
      const timings = SIZES.map((size, index) => {
        const reference = [0.05, 0.8, 6.4][index];
        const local = speedup * (0.85 + 0.1 * index + this.next() * 0.1);
        return { size, candidate: stats(reference / local), reference: stats(reference), speedup: local };
      });
      const geomean = Math.exp(timings.reduce((sum, timing) => sum + Math.log(timing.speedup), 0) / timings.length);
      result = {
        status: "passed",
        stage: "done",
        message: `correct on ${SIZES.length} sizes; ${geomean.toFixed(2)}x over the reference`,
        log: "",
        platform: "cpu",
        staticFindings: [],
        trials: [],
        timings,
        speedup: geomean,
        flags: [],
        durations: { compile: 0.4, correctness: 0.2, timing: 0.9, total: 1.6 },
      };
      speedup = geomean;
    }
    const fitness = failure ? 0 : speedup;
    this.db.recordEvaluation(id, result, fitness);
    const member = this.population.find((item) => item.id === id);
    if (member) {
      member.status = result.status;
      member.fitness = fitness;
    }
    this.db.addEvent("candidate-end", { candidateId: id, status: result.status, fitness, reason: result.reason });
    if (fitness > this.best) {
      this.best = fitness;
      this.bestId = id;
      this.db.updateRun({ bestCandidateId: id, bestFitness: fitness, activeMs: Date.now() - this.started });
      this.db.addEvent("best-improved", { candidateId: id, fitness });
    } else this.db.updateRun({ activeMs: Date.now() - this.started });
  }

  /** Writes `total` candidates quickly: generations of `perGeneration`, each evaluated at once. */
  grow(total: number, perGeneration = 50): void {
    if (!this.population.length) this.seed();
    while (this.population.length < total) {
      this.propose(Math.min(perGeneration, total - this.population.length));
      this.evaluatePending();
    }
  }

  bestCandidate(): string | undefined {
    return this.bestId;
  }

  finish(status: "completed" | "stopped" = "completed"): void {
    this.db.updateRun({ status, terminationReason: status === "completed" ? "candidate budget reached" : "stopped by a person", finishedAt: Date.now(), activeMs: Date.now() - this.started });
    this.db.addEvent("run-end", { status, reason: "candidate budget reached" });
    this.close();
  }

  close(): void {
    this.lock.release();
    this.db.close();
  }
}

function hash(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
