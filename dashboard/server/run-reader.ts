import Database from "better-sqlite3";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { listRunIds, runPaths } from "../../graphs/runs/run-paths.js";
import { liveOwner } from "../../graphs/runs/run-lock.js";

/**
 * Read-only access to the run databases of one runs folder, for the dashboard. Every connection is
 * opened with SQLite's read-only flag, so the dashboard can never change a run; WAL mode (set by the
 * run engine) lets it read while a run writes. `PRAGMA data_version` is the cheap change marker: it
 * moves whenever another connection commits, so polling it costs one tiny query per run.
 */

export interface RunSummary {
  id: string;
  spec: string;
  platform: string;
  operator: string;
  policy: string;
  status: string;
  reason: string | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
  activeMs: number;
  budget: number | null;
  candidates: number;
  pending: number;
  passed: number;
  failed: number;
  bestCandidateId: string | null;
  bestSpeedup: number;
  /** Best speed-up per problem size over the passing candidates. */
  bestPerSize: Record<string, number>;
  tokensInput: number;
  tokensOutput: number;
  costUsd: number;
  /** Changes whenever the run's database or status changes. */
  marker: string;
}

/** A candidate as the lineage and charts need it: small, no source. */
export interface CandidateNode {
  id: string;
  sequence: number;
  generation: number;
  parentIds: string[];
  operator: string;
  strategy: string | null;
  status: string;
  fitness: number;
  stage: string | null;
  reason: string | null;
  createdAt: number;
  evaluatedAt: number | null;
  /** [size, speed-up] pairs of a timed candidate. */
  sizes: [string, number][];
}

/** Looks a chunk id up in the knowledge docs: its file, and its title and text when the section still exists. */
export type ChunkResolver = (chunkId: string) => { file: string; title?: string; text?: string } | null;

export interface RetrievedChunkView {
  id: string;
  title: string | null;
  origin: string | null;
  text: string | null;
  /** Where it comes from: a docs file path, or the experience memory for a past kernel. */
  source: string | null;
  /** Whether the text is the one the prompt carried (else it is read from the docs today). */
  fromPrompt: boolean;
}

export interface CandidateDetail extends CandidateNode {
  language: string;
  source: string;
  params: Record<string, string> | null;
  result: Record<string, unknown> | null;
  tokens: { input: number; output: number } | null;
  costUsd: number | null;
  model: string | null;
  kernelPath: string;
  prompt: string | null;
  reply: string | null;
  chunks: RetrievedChunkView[];
  parentSource: string | null;
}

const NODE_COLUMNS = `c.id, c.sequence, c.generation, c.operator, c.strategy, c.status, c.fitness, c.created_at, c.evaluated_at,
  json_extract(c.result_json, '$.stage') AS stage, json_extract(c.result_json, '$.reason') AS reason,
  (SELECT json_group_array(json_array(json_extract(t.value, '$.size'), json_extract(t.value, '$.speedup'))) FROM json_each(c.result_json, '$.timings') t) AS sizes`;

interface NodeRow {
  id: string;
  sequence: number;
  generation: number;
  operator: string;
  strategy: string | null;
  status: string;
  fitness: number;
  created_at: number;
  evaluated_at: number | null;
  stage: string | null;
  reason: string | null;
  sizes: string | null;
}

function decodeNode(row: NodeRow, parentIds: string[]): CandidateNode {
  let sizes: [string, number][] = [];
  try {
    sizes = row.sizes ? (JSON.parse(row.sizes) as [string, number][]).filter(([size, speedup]) => typeof size === "string" && typeof speedup === "number") : [];
  } catch {
    sizes = [];
  }
  return {
    id: row.id,
    sequence: row.sequence,
    generation: row.generation,
    parentIds,
    operator: row.operator,
    strategy: row.strategy,
    status: row.status,
    fitness: row.fitness,
    stage: row.status === "failed" ? row.stage : null,
    reason: row.status === "failed" ? (row.reason ?? (row.stage ? `${row.stage} failure` : null)) : null,
    createdAt: row.created_at,
    evaluatedAt: row.evaluated_at,
    sizes,
  };
}

/** Splits a prompt's "Retrieved knowledge" section into its chunks: `### title [id] (origin)` then text. */
export function chunksInPrompt(prompt: string | null | undefined): Map<string, { title: string; origin: string; text: string }> {
  const found = new Map<string, { title: string; origin: string; text: string }>();
  if (!prompt) return found;
  const heading = /^### (.*) \[([^\]\n]+)\] \(([^)\n]+)\)$/gm;
  const matches = [...prompt.matchAll(heading)];
  matches.forEach((match, index) => {
    const start = match.index! + match[0].length;
    let end = index + 1 < matches.length ? matches[index + 1].index! : prompt.length;
    // The last chunk ends at the prompt's next section ("## ..." after a blank line), when there is one.
    if (index + 1 === matches.length) {
      const next = /\n\n## (?!#)/.exec(prompt.slice(start));
      if (next) end = start + next.index;
    }
    found.set(match[2], { title: match[1], origin: match[3], text: prompt.slice(start, end).trim() });
  });
  return found;
}

/** One open read-only connection per run, reused across polls. */
class RunConnection {
  readonly db: Database.Database;
  private cachedMarker = "";
  private cachedSummary?: RunSummary;

  constructor(readonly folder: string) {
    this.db = new Database(runPaths(folder).database, { readonly: true, fileMustExist: true });
    this.db.pragma("busy_timeout = 5000");
  }

  /** Database version plus the status a reader sees (a dead owner turns running into interrupted). */
  marker(): string {
    const version = this.db.pragma("data_version", { simple: true }) as number;
    const row = this.db.prepare("SELECT status, updated_at FROM runs LIMIT 1").get() as { status: string; updated_at: number } | undefined;
    const status = row?.status === "running" && !liveOwner(this.folder) ? "interrupted" : row?.status;
    return `${version}:${row?.updated_at ?? 0}:${status}`;
  }

  summary(): RunSummary | undefined {
    const marker = this.marker();
    if (this.cachedSummary && marker === this.cachedMarker) return this.cachedSummary;
    const read = this.db.transaction(() => {
      const run = this.db.prepare("SELECT * FROM runs LIMIT 1").get() as Record<string, unknown> | undefined;
      if (!run) return undefined;
      const totals = this.db
        .prepare(
          `SELECT COUNT(*) AS candidates, COALESCE(SUM(status = 'pending'), 0) AS pending, COALESCE(SUM(status = 'passed'), 0) AS passed,
           COALESCE(SUM(status = 'failed'), 0) AS failed, COALESCE(SUM(tokens_input), 0) AS tokensInput, COALESCE(SUM(tokens_output), 0) AS tokensOutput,
           COALESCE(SUM(cost_usd), 0) AS costUsd FROM candidates`,
        )
        .get() as Record<string, number>;
      const perSize = this.db
        .prepare(
          `SELECT json_extract(t.value, '$.size') AS size, MAX(json_extract(t.value, '$.speedup')) AS best
           FROM candidates c, json_each(c.result_json, '$.timings') t WHERE c.status = 'passed' GROUP BY size ORDER BY size`,
        )
        .all() as { size: string; best: number }[];
      return { run, totals, perSize };
    });
    const data = read();
    if (!data) return undefined;
    const { run, totals, perSize } = data;
    let config: { settings?: { budget?: { candidates?: number } } } = {};
    try {
      config = JSON.parse(run.config_json as string);
    } catch {
      config = {};
    }
    let status = run.status as string;
    let reason = (run.termination_reason as string | null) ?? null;
    if (status === "running" && !liveOwner(this.folder)) {
      status = "interrupted";
      reason ??= "its process ended without finishing it (killed or crashed)";
    }
    this.cachedMarker = marker;
    this.cachedSummary = {
      id: run.id as string,
      spec: run.spec_id as string,
      platform: run.platform as string,
      operator: run.operator as string,
      policy: run.policy as string,
      status,
      reason,
      createdAt: run.created_at as number,
      updatedAt: run.updated_at as number,
      finishedAt: (run.finished_at as number | null) ?? null,
      activeMs: run.active_ms as number,
      budget: config.settings?.budget?.candidates ?? null,
      candidates: totals.candidates,
      pending: totals.pending,
      passed: totals.passed,
      failed: totals.failed,
      bestCandidateId: (run.best_candidate_id as string | null) ?? null,
      bestSpeedup: run.best_fitness as number,
      bestPerSize: Object.fromEntries(perSize.filter((row) => row.size !== null).map((row) => [row.size, row.best])),
      tokensInput: totals.tokensInput,
      tokensOutput: totals.tokensOutput,
      costUsd: totals.costUsd,
      marker,
    };
    return this.cachedSummary;
  }

  /**
   * Candidates created or evaluated at or after `since` (ms), with the cursor to pass next time.
   * Rows of the same millisecond may come twice; the client merges by id.
   */
  nodes(since = 0): { nodes: CandidateNode[]; cursor: number } {
    const read = this.db.transaction(() => {
      const rows = this.db
        .prepare(`SELECT ${NODE_COLUMNS} FROM candidates c WHERE c.created_at >= ? OR c.evaluated_at >= ? ORDER BY c.sequence`)
        .all(since, since) as NodeRow[];
      // The edges table has no index on child_id: one scan for all, not one per candidate.
      const parents = new Map<string, string[]>();
      if (rows.length) {
        const wanted = new Set(rows.map((row) => row.id));
        for (const edge of this.db.prepare("SELECT parent_id, child_id FROM edges ORDER BY child_id, position").iterate() as Iterable<{ parent_id: string; child_id: string }>) {
          if (!wanted.has(edge.child_id)) continue;
          const list = parents.get(edge.child_id);
          if (list) list.push(edge.parent_id);
          else parents.set(edge.child_id, [edge.parent_id]);
        }
      }
      return { rows, parents };
    });
    const { rows, parents } = read();
    const cursor = rows.reduce((latest, row) => Math.max(latest, row.created_at, row.evaluated_at ?? 0), since);
    return { nodes: rows.map((row) => decodeNode(row, parents.get(row.id) ?? [])), cursor };
  }

  candidate(id: string, resolveChunk: ChunkResolver): CandidateDetail | undefined {
    const row = this.db.prepare(`SELECT ${NODE_COLUMNS} FROM candidates c WHERE c.id = ?`).get(id) as NodeRow | undefined;
    if (!row) return undefined;
    const extra = this.db
      .prepare("SELECT language, source, params_json, result_json, tokens_input, tokens_output, cost_usd, model, kernel_path FROM candidates WHERE id = ?")
      .get(id) as Record<string, string | number | null>;
    const prompt = this.db.prepare("SELECT prompt, reply, model FROM prompts WHERE candidate_id = ?").get(id) as
      | { prompt: string | null; reply: string | null; model: string | null }
      | undefined;
    const chunkIds = (this.db.prepare("SELECT chunk_id FROM retrieved_chunks WHERE candidate_id = ? ORDER BY position").all(id) as { chunk_id: string }[]).map(
      (chunk) => chunk.chunk_id,
    );
    const inPrompt = chunksInPrompt(prompt?.prompt);
    const parentIds = (this.db.prepare("SELECT parent_id FROM edges WHERE child_id = ? ORDER BY position").all(id) as { parent_id: string }[]).map((edge) => edge.parent_id);
    const node = decodeNode(row, parentIds);
    const parent = node.parentIds[0]
      ? (this.db.prepare("SELECT source FROM candidates WHERE id = ?").get(node.parentIds[0]) as { source: string } | undefined)
      : undefined;
    const parse = (text: string | number | null) => {
      if (typeof text !== "string") return null;
      try {
        return JSON.parse(text);
      } catch {
        return null;
      }
    };
    return {
      ...node,
      language: extra.language as string,
      source: extra.source as string,
      params: parse(extra.params_json),
      result: parse(extra.result_json),
      tokens: extra.tokens_input !== null ? { input: Number(extra.tokens_input), output: Number(extra.tokens_output ?? 0) } : null,
      costUsd: extra.cost_usd === null ? null : Number(extra.cost_usd),
      model: (prompt?.model ?? (extra.model as string | null)) ?? null,
      kernelPath: extra.kernel_path as string,
      prompt: prompt?.prompt ?? null,
      reply: prompt?.reply ?? null,
      chunks: chunkIds.map((chunkId) => {
        const seen = inPrompt.get(chunkId);
        const known = seen?.origin === "past kernel" ? null : resolveChunk(chunkId);
        const text = known?.text ?? seen?.text ?? null;
        return {
          id: chunkId,
          title: seen?.title ?? known?.title ?? null,
          origin: seen?.origin ?? null,
          text,
          source: seen?.origin === "past kernel" ? "experience memory (a past passing kernel)" : (known?.file ?? null),
          fromPrompt: Boolean(seen?.text) && !known?.text,
        };
      }),
      parentSource: parent?.source ?? null,
    };
  }

  close(): void {
    this.db.close();
  }
}

/** The runs of one folder, each read through one cached read-only connection. */
export class RunsReader {
  private readonly connections = new Map<string, RunConnection>();

  constructor(
    readonly runsDirectory: string,
    private readonly resolveChunk: ChunkResolver = () => null,
  ) {}

  runIds(): string[] {
    return listRunIds(this.runsDirectory);
  }

  private connection(id: string): RunConnection | undefined {
    if (!/^[A-Za-z0-9._-]+$/.test(id) || id.startsWith(".")) return undefined;
    let connection = this.connections.get(id);
    if (connection) return connection;
    const folder = join(this.runsDirectory, id);
    if (!existsSync(runPaths(folder).database)) return undefined;
    try {
      connection = new RunConnection(folder);
    } catch {
      return undefined; // a database being created right now: seen on the next poll
    }
    this.connections.set(id, connection);
    return connection;
  }

  /** Change markers of every run, cheap enough to poll. */
  markers(): Map<string, string> {
    const markers = new Map<string, string>();
    const ids = this.runIds();
    // Runs whose folder was removed: their connections are closed.
    const present = new Set(ids);
    for (const [id, connection] of this.connections) {
      if (present.has(id)) continue;
      connection.close();
      this.connections.delete(id);
    }
    for (const id of ids) {
      try {
        const connection = this.connection(id);
        if (connection) markers.set(id, connection.marker());
      } catch {
        // a run whose schema is not written yet
      }
    }
    return markers;
  }

  summaries(): RunSummary[] {
    const rows: RunSummary[] = [];
    for (const id of this.runIds()) {
      try {
        const summary = this.connection(id)?.summary();
        if (summary) rows.push(summary);
      } catch {
        // skipped until its schema exists
      }
    }
    return rows;
  }

  summary(id: string): RunSummary | undefined {
    return this.connection(id)?.summary();
  }

  nodes(id: string, since = 0): { nodes: CandidateNode[]; cursor: number } | undefined {
    return this.connection(id)?.nodes(since);
  }

  candidate(runId: string, candidateId: string): CandidateDetail | undefined {
    return this.connection(runId)?.candidate(candidateId, this.resolveChunk);
  }

  close(): void {
    for (const connection of this.connections.values()) connection.close();
    this.connections.clear();
  }
}
