import type { KernelSpec } from "./spec.js";
import type { CandidateSource, EvaluationOptions, EvaluationResult, HardwareProfile, Language } from "./protocol.js";

/**
 * The extension interfaces shared by every layer. Implementations live in platforms/, agents/,
 * graphs/ and plugins; this file only names the shapes.
 */

/** Where a platform runs its candidates: the local runtime or a queue of remote workers. */
export interface Platform {
  /** kebab-case id, e.g. "cpu", "cuda", "triton". */
  readonly id: string;
  /** Languages its candidates are written in; the first is the default. */
  readonly languages: Language[];
  /** Human-readable one-liner. */
  readonly description: string;
  /** What it can do; shared code branches on these, never on the id. */
  readonly capabilities: PlatformCapabilities;
  /** Whether it can run here, and why not. */
  availability(): Promise<{ available: boolean; reason?: string }>;
  /** Hardware facts for prompts and reports. */
  hardwareProfile(): Promise<HardwareProfile>;
  /** How many candidates it evaluates at once. */
  capacity(): Promise<number>;
  /** Compiles, checks and times one candidate; failures are results, never exceptions. */
  evaluate(spec: KernelSpec, candidate: CandidateSource, options?: EvaluationOptions, signal?: AbortSignal): Promise<EvaluationResult>;
  /** Releases processes and handles. */
  close(): Promise<void>;
}

export interface PlatformCapabilities {
  /** Timings are meaningful (false for e.g. Triton's CPU interpreter). */
  timed: boolean;
  /** Kernels run on an accelerator with its own memory. */
  accelerator: boolean;
  /** Candidates are compiled (a compile cache applies). */
  compiled: boolean;
}

/** A candidate as stored in the run database. */
export interface CandidateRecord {
  id: string;
  runId: string;
  generation: number;
  parentIds: string[];
  operator: string;
  strategy?: string;
  language: Language;
  source: string;
  /** Template parameters for autotune candidates. */
  params?: Record<string, string>;
  status: "pending" | "passed" | "failed";
  result?: EvaluationResult;
  /** Fitness: speed-up over the reference when correct, 0 otherwise. */
  fitness: number;
  createdAt: number;
  evaluatedAt?: number;
  tokens?: { input: number; output: number };
  costUsd?: number;
}

/** How the operator uses the search's memory for one step. */
export type MemoryMode = "inherit" | "compare-siblings" | "combine" | "restart";

/** A retrieved chunk of knowledge placed into a prompt. */
export interface RetrievedChunk {
  id: string;
  documentId: string;
  title: string;
  text: string;
  score: number;
  source: "docs" | "experience";
}

/** What the operator's prompt can ask the knowledge base. */
export interface ContextProvider {
  retrieve(query: { text: string; platform?: string; language?: string; limit?: number; tokenBudget?: number }): Promise<RetrievedChunk[]>;
}

/** Everything an operator sees for one step. */
export interface OperatorContext {
  spec: KernelSpec;
  platform: { id: string; language: Language; profile?: HardwareProfile };
  generation: number;
  /** Candidates chosen by the selection policy. */
  parents: CandidateRecord[];
  /** Other children of the first parent, for compare-siblings. */
  siblings: CandidateRecord[];
  /** The best candidates so far, for combine. */
  elites: CandidateRecord[];
  memoryMode: MemoryMode;
  /** How many candidates to propose. */
  count: number;
  /** Seeded randomness for reproducible runs. */
  random: () => number;
  /** Knowledge retrieval, when configured. */
  context?: ContextProvider;
  /** Every candidate evaluated so far in this run, keyed by a source hash (to avoid duplicates). */
  seen: Set<string>;
  signal?: AbortSignal;
  /** Tells the run that a model request is retried (shown as a `model-retry` event). */
  onRetry?: (retry: { model: string; attempt: number; delayMs: number; message: string }) => void;
  /** A note for the prompt, e.g. that the last proposals repeated kernels already evaluated. */
  note?: string;
}

/** A candidate an operator proposes, before evaluation. */
export interface Proposal {
  source: string;
  language: Language;
  parentIds: string[];
  strategy?: string;
  params?: Record<string, string>;
  prompt?: string;
  reply?: string;
  /** Chunk ids placed into the prompt. */
  retrievedChunkIds?: string[];
  tokens?: { input: number; output: number };
  costUsd?: number;
  model?: string;
  /** Set when the reply held no usable code: the candidate fails with this reason, unevaluated. */
  failure?: string;
}

/** Writes candidates: the LLM universal operator or the offline autotuner. */
export interface Operator {
  readonly id: string;
  readonly description: string;
  /** Why the operator may propose nothing although it did not fail (shown in the run's `exhausted` reason). */
  readonly whenEmpty?: string;
  propose(context: OperatorContext): Promise<Proposal[]>;
}

/** Picks parents for the next generation from the population. */
export interface SelectionPolicy {
  readonly id: string;
  readonly description: string;
  /** Chooses `count` parent groups (each a list of candidate ids: one parent, or two to combine). */
  select(population: CandidateRecord[], options: { count: number; generation: number; random: () => number; state: Record<string, unknown> }): {
    parents: string[][];
    state: Record<string, unknown>;
  };
}
