import Database from "better-sqlite3";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { EvaluationResult, Language } from "../../core/protocol.js";
import type { CandidateRecord, MemoryMode } from "../../core/types.js";
import { UserError } from "../../core/errors.js";
import { kernelExtension, runPaths } from "./run-paths.js";
import { liveOwner } from "./run-lock.js";

/**
 * The run database (runs/<id>/run.sqlite): the population, the lineage, prompts and replies, the
 * retrieved chunks each prompt used, results, tokens, cost and an event log. Every write is a
 * transaction, so a process killed at any moment leaves either the old or the new row.
 */

/**
 * running: a process works on it now (see run-lock.ts); completed: a limit was reached; stopped: a
 * person stopped it (Ctrl-C, /stop, a closed output), resumable; interrupted: its process died
 * without finishing (kill -9, a crash), resumable; failed: an error ended it.
 */
export type RunStatus = "running" | "completed" | "stopped" | "interrupted" | "failed";

/** The row of the `runs` table, decoded. */
export interface RunRow {
  id: string;
  specId: string;
  platform: string;
  operator: string;
  policy: string;
  status: RunStatus;
  terminationReason?: string;
  /** Everything needed to resume: spec, options, seeds (JSON). */
  config: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
  finishedAt?: number;
  /** Time the run spent working, summed over sessions (resume does not count the pause). */
  activeMs: number;
  bestCandidateId?: string;
  bestFitness: number;
}

/** What a new candidate row holds beyond CandidateRecord. */
export interface NewCandidate {
  generation: number;
  parentIds: string[];
  operator: string;
  strategy?: string;
  language: Language;
  source: string;
  sourceHash: string;
  params?: Record<string, string>;
  memoryMode?: MemoryMode;
  prompt?: string;
  reply?: string;
  model?: string;
  retrievedChunkIds?: string[];
  tokens?: { input: number; output: number };
  costUsd?: number;
  /** Set when the proposal itself failed (no code in the reply): stored as failed, never evaluated. */
  failure?: string;
}

export interface StoredEvent {
  sequence: number;
  time: number;
  type: string;
  data: Record<string, unknown>;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY, spec_id TEXT NOT NULL, platform TEXT NOT NULL, operator TEXT NOT NULL, policy TEXT NOT NULL,
  status TEXT NOT NULL, termination_reason TEXT, config_json TEXT NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, finished_at INTEGER, active_ms INTEGER NOT NULL DEFAULT 0,
  best_candidate_id TEXT, best_fitness REAL NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS candidates (
  id TEXT PRIMARY KEY, sequence INTEGER NOT NULL UNIQUE, generation INTEGER NOT NULL, operator TEXT NOT NULL, strategy TEXT,
  language TEXT NOT NULL, source TEXT NOT NULL, source_hash TEXT NOT NULL, kernel_path TEXT NOT NULL, params_json TEXT,
  memory_mode TEXT, status TEXT NOT NULL, result_json TEXT, fitness REAL NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL, started_at INTEGER, evaluated_at INTEGER, evaluation_count INTEGER NOT NULL DEFAULT 0,
  tokens_input INTEGER, tokens_output INTEGER, cost_usd REAL, model TEXT);
CREATE INDEX IF NOT EXISTS candidates_generation ON candidates(generation);
CREATE INDEX IF NOT EXISTS candidates_hash ON candidates(source_hash);
CREATE TABLE IF NOT EXISTS edges (parent_id TEXT NOT NULL, child_id TEXT NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (parent_id, child_id));
CREATE TABLE IF NOT EXISTS prompts (candidate_id TEXT PRIMARY KEY, prompt TEXT, reply TEXT, model TEXT);
CREATE TABLE IF NOT EXISTS retrieved_chunks (candidate_id TEXT NOT NULL, chunk_id TEXT NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (candidate_id, position));
CREATE TABLE IF NOT EXISTS events (sequence INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL, type TEXT NOT NULL, data_json TEXT NOT NULL);
`;

interface CandidateRow {
  id: string;
  generation: number;
  operator: string;
  strategy: string | null;
  language: string;
  source: string;
  params_json: string | null;
  status: string;
  result_json: string | null;
  fitness: number;
  created_at: number;
  evaluated_at: number | null;
  tokens_input: number | null;
  tokens_output: number | null;
  cost_usd: number | null;
  memory_mode: string | null;
  evaluation_count: number;
  source_hash: string;
  kernel_path: string;
  parent_ids: string | null;
}

/** A candidate as stored, with the bookkeeping fields the graph and reports use. */
export type StoredCandidate = CandidateRecord & { memoryMode?: MemoryMode; evaluationCount: number; sourceHash: string; kernelPath: string };

/** Opens (or creates) one run's database; all methods are synchronous and transactional. */
export class RunDatabase {
  readonly folder: string;
  private readonly db: Database.Database;
  readonly runId: string;

  private constructor(folder: string, runId: string, db: Database.Database) {
    this.folder = folder;
    this.runId = runId;
    this.db = db;
  }

  /** Creates the run folder and its database with the run's row. */
  static create(folder: string, run: Omit<RunRow, "status" | "createdAt" | "updatedAt" | "activeMs" | "bestFitness">, now = Date.now()): RunDatabase {
    const paths = runPaths(folder);
    if (existsSync(paths.database)) throw new UserError("run_exists", `a run already exists in ${folder}`);
    mkdirSync(paths.kernels, { recursive: true });
    const db = RunDatabase.connect(paths.database);
    db.prepare(
      "INSERT INTO runs (id, spec_id, platform, operator, policy, status, config_json, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?)",
    ).run(run.id, run.specId, run.platform, run.operator, run.policy, JSON.stringify(run.config), now, now);
    return new RunDatabase(folder, run.id, db);
  }

  /** Opens an existing run folder; a folder without a run database is a user error. */
  static open(folder: string): RunDatabase {
    const paths = runPaths(folder);
    if (!existsSync(paths.database)) throw new UserError("run_not_found", `no run database in ${folder}`);
    const db = RunDatabase.connect(paths.database);
    const row = db.prepare("SELECT id FROM runs LIMIT 1").get() as { id: string } | undefined;
    if (!row) throw new UserError("run_not_found", `run database ${paths.database} holds no run`);
    return new RunDatabase(folder, row.id, db);
  }

  private static connect(path: string): Database.Database {
    const db = new Database(path);
    // WAL keeps readers (reports, `runs`) from blocking the writer. NORMAL sync in WAL mode keeps every
    // commit across a killed process (only a power cut may lose the last ones) without an fsync per write.
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("busy_timeout = 5000");
    db.exec(SCHEMA);
    return db;
  }

  close(): void {
    this.db.close();
  }

  /**
   * The run's row. A row that says `running` while no live process owns the run (its lock file is
   * gone or names a dead process) is reported as `interrupted`: that process was killed or crashed.
   */
  run(): RunRow {
    const row = this.db.prepare("SELECT * FROM runs WHERE id = ?").get(this.runId) as Record<string, unknown>;
    if (row.status === "running" && !liveOwner(this.folder)) {
      row.status = "interrupted";
      row.termination_reason ??= "its process ended without finishing it (killed or crashed)";
    }
    return {
      id: row.id as string,
      specId: row.spec_id as string,
      platform: row.platform as string,
      operator: row.operator as string,
      policy: row.policy as string,
      status: row.status as RunStatus,
      terminationReason: (row.termination_reason as string | null) ?? undefined,
      config: JSON.parse(row.config_json as string),
      createdAt: row.created_at as number,
      updatedAt: row.updated_at as number,
      finishedAt: (row.finished_at as number | null) ?? undefined,
      activeMs: row.active_ms as number,
      bestCandidateId: (row.best_candidate_id as string | null) ?? undefined,
      bestFitness: row.best_fitness as number,
    };
  }

  /** Updates the mutable fields of the run's row. */
  updateRun(fields: Partial<Pick<RunRow, "status" | "terminationReason" | "finishedAt" | "activeMs" | "bestCandidateId" | "bestFitness">>, now = Date.now()): void {
    const columns: Record<string, string> = {
      status: "status",
      terminationReason: "termination_reason",
      finishedAt: "finished_at",
      activeMs: "active_ms",
      bestCandidateId: "best_candidate_id",
      bestFitness: "best_fitness",
    };
    const entries = Object.entries(fields).filter(([key]) => key in columns);
    const assignments = [...entries.map(([key]) => `${columns[key]} = ?`), "updated_at = ?"].join(", ");
    this.db.prepare(`UPDATE runs SET ${assignments} WHERE id = ?`).run(...entries.map(([, value]) => value ?? null), now, this.runId);
  }

  /**
   * Stores proposals as pending candidates (or failed, for proposals without code), with their
   * kernel files, edges, prompts and chunk ids, in one transaction; returns them with their ids.
   */
  insertCandidates(candidates: NewCandidate[], now = Date.now()): StoredCandidate[] {
    const insert = this.db.transaction((items: NewCandidate[]) => {
      let sequence = (this.db.prepare("SELECT COALESCE(MAX(sequence), 0) AS last FROM candidates").get() as { last: number }).last;
      return items.map((item) => {
        sequence += 1;
        const id = `c${String(sequence).padStart(4, "0")}`;
        const kernelPath = join("kernels", `${id}.${kernelExtension(item.language)}`);
        // The file goes first through a rename, so a kill leaves either no file or a whole one.
        const temporary = join(this.folder, `${kernelPath}.tmp`);
        writeFileSync(temporary, item.source);
        renameSync(temporary, join(this.folder, kernelPath));
        const status = item.failure ? "failed" : "pending";
        const result = item.failure ? JSON.stringify(proposalFailure(item.failure)) : null;
        this.db
          .prepare(
            `INSERT INTO candidates (id, sequence, generation, operator, strategy, language, source, source_hash, kernel_path, params_json, memory_mode, status,
             result_json, created_at, evaluated_at, tokens_input, tokens_output, cost_usd, model) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            id, sequence, item.generation, item.operator, item.strategy ?? null, item.language, item.source, item.sourceHash, kernelPath,
            item.params ? JSON.stringify(item.params) : null, item.memoryMode ?? null, status, result, now, item.failure ? now : null,
            item.tokens?.input ?? null, item.tokens?.output ?? null, item.costUsd ?? null, item.model ?? null,
          );
        item.parentIds.forEach((parentId, position) => {
          this.db.prepare("INSERT OR IGNORE INTO edges (parent_id, child_id, position) VALUES (?, ?, ?)").run(parentId, id, position);
        });
        if (item.prompt !== undefined || item.reply !== undefined) {
          this.db.prepare("INSERT INTO prompts (candidate_id, prompt, reply, model) VALUES (?, ?, ?, ?)").run(id, item.prompt ?? null, item.reply ?? null, item.model ?? null);
        }
        (item.retrievedChunkIds ?? []).forEach((chunkId, position) => {
          this.db.prepare("INSERT INTO retrieved_chunks (candidate_id, chunk_id, position) VALUES (?, ?, ?)").run(id, chunkId, position);
        });
        return id;
      });
    });
    const ids = insert(candidates) as string[];
    return ids.map((id) => this.candidate(id)!);
  }

  /** Marks the start of an evaluation (for reports and for spotting interrupted ones). */
  markStarted(id: string, now = Date.now()): void {
    this.db.prepare("UPDATE candidates SET started_at = ? WHERE id = ?").run(now, id);
  }

  /** Stores an evaluation result; a candidate that is not pending is left alone and false returned. */
  recordEvaluation(id: string, result: EvaluationResult, fitness: number, now = Date.now()): boolean {
    const change = this.db
      .prepare("UPDATE candidates SET status = ?, result_json = ?, fitness = ?, evaluated_at = ?, evaluation_count = evaluation_count + 1 WHERE id = ? AND status = 'pending'")
      .run(result.status, JSON.stringify(result), fitness, now, id);
    return change.changes === 1;
  }

  private decode(row: CandidateRow): StoredCandidate {
    return {
      id: row.id,
      runId: this.runId,
      generation: row.generation,
      parentIds: row.parent_ids ? row.parent_ids.split(",") : [],
      operator: row.operator,
      strategy: row.strategy ?? undefined,
      language: row.language as Language,
      source: row.source,
      params: row.params_json ? JSON.parse(row.params_json) : undefined,
      status: row.status as CandidateRecord["status"],
      result: row.result_json ? JSON.parse(row.result_json) : undefined,
      fitness: row.fitness,
      createdAt: row.created_at,
      evaluatedAt: row.evaluated_at ?? undefined,
      tokens: row.tokens_input !== null ? { input: row.tokens_input, output: row.tokens_output ?? 0 } : undefined,
      costUsd: row.cost_usd ?? undefined,
      memoryMode: (row.memory_mode as MemoryMode | null) ?? undefined,
      evaluationCount: row.evaluation_count,
      sourceHash: row.source_hash,
      kernelPath: row.kernel_path,
    };
  }

  private selectCandidates(where: string, ...parameters: unknown[]): StoredCandidate[] {
    const rows = this.db
      .prepare(
        `SELECT c.*, (SELECT GROUP_CONCAT(parent_id) FROM (SELECT parent_id FROM edges e WHERE e.child_id = c.id ORDER BY position)) AS parent_ids
         FROM candidates c ${where} ORDER BY c.sequence`,
      )
      .all(...parameters) as CandidateRow[];
    return rows.map((row) => this.decode(row));
  }

  candidate(id: string): StoredCandidate | undefined {
    return this.selectCandidates("WHERE c.id = ?", id)[0];
  }

  candidates(): StoredCandidate[] {
    return this.selectCandidates("");
  }

  candidatesOfGeneration(generation: number): StoredCandidate[] {
    return this.selectCandidates("WHERE c.generation = ?", generation);
  }

  pendingCandidates(): StoredCandidate[] {
    return this.selectCandidates("WHERE c.status = 'pending'");
  }

  /** Source hashes of every candidate, so operators never repeat one. */
  sourceHashes(): Set<string> {
    return new Set((this.db.prepare("SELECT source_hash FROM candidates").all() as { source_hash: string }[]).map((row) => row.source_hash));
  }

  /** Counts and sums over the population, for termination and progress. */
  totals(): { candidates: number; pending: number; passed: number; failed: number; tokensInput: number; tokensOutput: number; costUsd: number } {
    const row = this.db
      .prepare(
        `SELECT COUNT(*) AS candidates, SUM(status = 'pending') AS pending, SUM(status = 'passed') AS passed, SUM(status = 'failed') AS failed,
         COALESCE(SUM(tokens_input), 0) AS tokensInput, COALESCE(SUM(tokens_output), 0) AS tokensOutput, COALESCE(SUM(cost_usd), 0) AS costUsd FROM candidates`,
      )
      .get() as Record<string, number | null>;
    return {
      candidates: row.candidates ?? 0,
      pending: row.pending ?? 0,
      passed: row.passed ?? 0,
      failed: row.failed ?? 0,
      tokensInput: row.tokensInput ?? 0,
      tokensOutput: row.tokensOutput ?? 0,
      costUsd: row.costUsd ?? 0,
    };
  }

  prompt(candidateId: string): { prompt?: string; reply?: string; model?: string; chunkIds: string[] } {
    const row = this.db.prepare("SELECT prompt, reply, model FROM prompts WHERE candidate_id = ?").get(candidateId) as
      | { prompt: string | null; reply: string | null; model: string | null }
      | undefined;
    const chunks = this.db.prepare("SELECT chunk_id FROM retrieved_chunks WHERE candidate_id = ? ORDER BY position").all(candidateId) as { chunk_id: string }[];
    return { prompt: row?.prompt ?? undefined, reply: row?.reply ?? undefined, model: row?.model ?? undefined, chunkIds: chunks.map((chunk) => chunk.chunk_id) };
  }

  addEvent(type: string, data: Record<string, unknown>, now = Date.now()): void {
    this.db.prepare("INSERT INTO events (time, type, data_json) VALUES (?, ?, ?)").run(now, type, JSON.stringify(data));
  }

  events(): StoredEvent[] {
    return (this.db.prepare("SELECT * FROM events ORDER BY sequence").all() as { sequence: number; time: number; type: string; data_json: string }[]).map((row) => ({
      sequence: row.sequence,
      time: row.time,
      type: row.type,
      data: JSON.parse(row.data_json),
    }));
  }
}

function proposalFailure(message: string): EvaluationResult {
  return {
    status: "failed",
    stage: "static",
    message: `proposal failed: ${message}`,
    log: "",
    platform: "none",
    staticFindings: [],
    trials: [],
    timings: [],
    flags: ["unevaluated"],
    durations: {},
  };
}
