import type { EvaluationResult } from "../core/protocol.js";
import type { ContextProvider, RetrievedChunk } from "../core/types.js";
import { promptSection } from "./prompt-section.js";
import { fitToTokenBudget } from "./token-budget.js";

/** What the operator knows about one step, enough to decide what to look up. */
export interface StepContextInput {
  spec: { id: string; category: string; description: string };
  /** Target platform id (cpu, cuda, triton). */
  platform: string;
  /** Candidate language (cpp, cuda, triton, python). */
  language?: string;
  /** The parent's last evaluation: its failure (reason, message, log) or its timings. */
  parentResult?: Pick<EvaluationResult, "status" | "stage" | "reason" | "message" | "log" | "timings" | "speedup">;
  /** Budget of the rendered prompt section, in approximate tokens (4 characters each). */
  tokenBudget: number;
  /** Results asked of each provider per query. */
  limitPerQuery?: number;
}

/** One query sent to the providers and why it was asked. */
export interface RetrievalQuery {
  purpose: "failure" | "operator" | "performance" | "hardware";
  text: string;
}

/** The chunks chosen for a prompt, their ids (to record in the run database) and the rendered section. */
export interface StepContext {
  queries: RetrievalQuery[];
  chunks: RetrievedChunk[];
  chunkIds: string[];
  section: string;
}

// Failures that leave no useful log still point at a known family of causes.
const REASON_HINTS: Record<string, string> = {
  wrong_output: "wrong output mismatch boundary mask tail elements indexing off-by-one accumulation order",
  wrong_shape: "output shape mismatch layout strides",
  nan_or_inf: "NaN Inf overflow numerically stable max subtraction uninitialised output",
  timeout: "kernel timeout hang infinite loop deadlock __syncthreads divergence",
  memory_limit: "out of memory allocation too large workspace",
  crash: "segmentation fault illegal memory access out-of-bounds index crash",
  input_modified: "input modified const inputs in-place write",
  output_alias: "output aliases input write to preallocated output",
  stale_result: "stale result static cache state between calls",
  precision_downgrade: "precision downgrade fp32 accumulation tf32 half precision error",
  compile_timeout: "compile time too long unrolling template instantiation",
  missing_entry: "missing entry point extern C kernel symbol ABI",
  forbidden_call: "forbidden library call write the kernel yourself",
  static_check: "static check rejected source",
  runtime_error: "runtime error exception traceback",
};

/** Keeps the diagnostic lines of a compiler log, without paths and line numbers that never match docs. */
export function diagnosticLines(log: string, maxLines = 4): string[] {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const raw of log.split(/\r?\n/)) {
    if (!/(error|Error|undefined reference|not defined|unsupported|expected|incompatible|must be|cannot|invalid)/.test(raw)) continue;
    const line = raw
      .replace(/^\s*(?:[\w./\\-]+\.(?:cpp|cc|cu|cuh|h|hpp|py|so|o))(?::\d+){0,2}:\s*/, "")
      .replace(/\s+/g, " ")
      .trim()
      .slice(0, 200);
    if (!line || seen.has(line)) continue;
    seen.add(line);
    lines.push(line);
    if (lines.length >= maxLines) break;
  }
  return lines;
}

/** Builds the retrieval queries for one operator step, most urgent first. */
export function buildRetrievalQueries(input: StepContextInput): RetrievalQuery[] {
  const { spec, platform, language, parentResult } = input;
  const queries: RetrievalQuery[] = [];
  if (parentResult?.status === "failed") {
    const diagnostics = diagnosticLines(parentResult.log ?? "");
    const hint = parentResult.reason ? REASON_HINTS[parentResult.reason] ?? "" : "";
    const text = [parentResult.reason?.replace(/_/g, " "), platform, language, ...diagnostics, diagnostics.length ? "" : parentResult.message, hint]
      .filter(Boolean)
      .join(" ")
      .slice(0, 700);
    queries.push({ purpose: "failure", text });
  }
  queries.push({ purpose: "operator", text: `${spec.category} ${spec.id.replace(/-/g, " ")}: ${spec.description} ${platform} kernel`.slice(0, 500) });
  if (parentResult?.status === "passed") {
    const speedup = parentResult.speedup;
    const bandwidths = (parentResult.timings ?? []).map((timing) => timing.achievedBandwidthGBs).filter((value): value is number => value !== undefined);
    const slow = speedup !== undefined && speedup < 1 ? "slower than the reference" : "faster";
    const bound = bandwidths.length ? "memory bandwidth bound roofline" : "compute throughput";
    queries.push({ purpose: "performance", text: `${platform} ${spec.category} performance optimisation ${slow} ${bound} tiling vectorization occupancy` });
  }
  queries.push({ purpose: "hardware", text: `${platform} hardware profile peak FLOPs memory bandwidth cache sizes` });
  return queries;
}

function shingles(text: string): Set<string> {
  const words = text.toLowerCase().split(/\W+/).filter(Boolean);
  const result = new Set<string>();
  for (let index = 0; index + 3 <= words.length; index += 1) result.add(words.slice(index, index + 3).join(" "));
  if (result.size === 0 && words.length) result.add(words.join(" "));
  return result;
}

/** Jaccard similarity of word 3-shingles; 1 for identical texts. */
export function textSimilarity(a: string, b: string): number {
  const left = shingles(a);
  const right = shingles(b);
  if (left.size === 0 && right.size === 0) return 1;
  let shared = 0;
  for (const shingle of left) if (right.has(shingle)) shared += 1;
  return shared / (left.size + right.size - shared);
}

/** Drops repeated chunk ids and near-duplicate texts (e.g. the same note in two folders), keeping the first. */
export function deduplicateChunks(chunks: RetrievedChunk[], threshold = 0.8): RetrievedChunk[] {
  const kept: RetrievedChunk[] = [];
  const ids = new Set<string>();
  for (const chunk of chunks) {
    const key = `${chunk.source}:${chunk.id}`;
    if (ids.has(key)) continue;
    if (kept.some((other) => textSimilarity(other.text, chunk.text) >= threshold)) continue;
    ids.add(key);
    kept.push(chunk);
  }
  return kept;
}

/**
 * Retrieves the knowledge for one operator step from every provider (docs, experience), interleaving
 * the queries' results by rank, de-duplicating and fitting them into the token budget.
 */
export async function retrieveStepContext(providers: ContextProvider[], input: StepContextInput): Promise<StepContext> {
  const queries = buildRetrievalQueries(input);
  const limit = input.limitPerQuery ?? 4;
  const lists: RetrievedChunk[][] = [];
  for (const query of queries) {
    for (const provider of providers) {
      lists.push(await provider.retrieve({ text: query.text, platform: input.platform, language: input.language, limit }));
    }
  }
  // Round-robin by rank: the best hit of every query comes before the second hit of any.
  const interleaved: RetrievedChunk[] = [];
  const longest = Math.max(0, ...lists.map((list) => list.length));
  for (let rank = 0; rank < longest; rank += 1) for (const list of lists) if (list[rank]) interleaved.push(list[rank]);
  const chunks = fitToTokenBudget(deduplicateChunks(interleaved), input.tokenBudget);
  return { queries, chunks, chunkIds: chunks.map((chunk) => chunk.id), section: promptSection(chunks) };
}
