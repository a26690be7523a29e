import { setMaxListeners } from "node:events";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import { KernelEvolveError, UserError } from "../../core/errors.js";
import { parseSpec, formatZodIssues } from "../../core/spec-loader.js";
import type { KernelSpec } from "../../core/spec.js";
import type { CandidateRecord, ContextProvider, Operator, Platform, SelectionPolicy } from "../../core/types.js";
import { RunDatabase, type RunStatus, type StoredCandidate } from "../runs/run-database.js";
import { newRunId, runPaths } from "../runs/run-paths.js";
import { acquireRunLock, type RunLock } from "../runs/run-lock.js";
import { buildEvolveGraph } from "./build-graph.js";
import { createEmitter, EvaluationClock, type EngineContext } from "./engine-context.js";
import type { OptimizeEvent } from "./events.js";
import { RunInterruptedError } from "./nodes/abort.js";
import { RunSettingsSchema, type RunSettings, type RunSettingsInput } from "./options.js";
import { seedFromSource, type SeedKernel } from "./seeds.js";
import { initialState } from "./state.js";

/** Remembers a finished run's successful kernels for later runs (implemented by retrieval's ExperienceMemory). */
export interface ExperienceRecorder {
  recordRun(run: { runId: string; spec: { id: string; category: string; description: string }; platform: string; candidates: CandidateRecord[] }): Promise<unknown>;
}

/**
 * What `optimize()` needs besides the serialisable settings. The engine chooses nothing itself: the
 * operator and the policy are the caller's (app/start-run.ts resolves them, with the run's defaults).
 */
export interface OptimizeOptions extends RunSettingsInput {
  spec: KernelSpec;
  platform: Platform;
  operator: Operator;
  policy: SelectionPolicy;
  /** Seed kernels (baseline, templates); see loadSeedKernels. */
  seeds?: SeedKernel[];
  runsDirectory: string;
  runId?: string;
  contextProvider?: ContextProvider;
  /** Where the run's successful kernels are remembered when it ends (retrieval's ExperienceMemory). */
  experience?: ExperienceRecorder;
  onEvent?: (event: OptimizeEvent) => void;
  signal?: AbortSignal;
  /** Extra facts stored with the run for `resume` (e.g. the model name; never secrets). */
  metadata?: Record<string, unknown>;
}

/** How a session ended, with the best candidate and the time split for the orchestration share. */
export interface OptimizeResult {
  runId: string;
  folder: string;
  status: RunStatus;
  reason?: string;
  best?: StoredCandidate;
  totals: ReturnType<RunDatabase["totals"]>;
  timings: { wallMs: number; evaluationMs: number; orchestrationMs: number };
}

/** Settings, seeds and ids stored in the run row so `resume` rebuilds the same run. */
interface StoredConfig {
  spec: KernelSpec;
  settings: RunSettings;
  seeds: { name: string; language: SeedKernel["language"]; source: string }[];
  metadata: Record<string, unknown>;
}

/** The engine has no default operator or policy: a caller that bypasses app/ must pass both (JavaScript callers included). */
function requireParts(entry: string, operator: Operator | undefined, policy: SelectionPolicy | undefined): void {
  if (!operator || typeof operator.propose !== "function") throw new UserError("operator_required", `${entry}() needs an operator object (app/ resolves one from an id with startRun/resumeRun)`);
  if (!policy || typeof policy.select !== "function") throw new UserError("policy_required", `${entry}() needs a policy object (app/ resolves one from an id with startRun/resumeRun)`);
}

interface SessionInput {
  db: RunDatabase;
  spec: KernelSpec;
  settings: RunSettings;
  seeds: SeedKernel[];
  platform: Platform;
  operator: Operator;
  policy: SelectionPolicy;
  contextProvider?: ContextProvider;
  experience?: ExperienceRecorder;
  onEvent?: (event: OptimizeEvent) => void;
  signal?: AbortSignal;
  resumed: boolean;
  lock: RunLock;
}

/** Why a person stopped a run, from the reason given to its AbortController (a string), if any. */
function stopReason(signal: AbortSignal | undefined): string {
  const reason = signal?.reason as unknown;
  return typeof reason === "string" && reason ? reason : "stopped";
}

async function runSession(input: SessionInput): Promise<OptimizeResult> {
  try {
    return await runLockedSession(input);
  } finally {
    input.lock.release();
  }
}

async function runLockedSession(input: SessionInput): Promise<OptimizeResult> {
  const { db, settings, platform } = input;
  const sessionStart = Date.now();
  const baseActiveMs = db.run().activeMs;
  const activeMs = () => baseActiveMs + (Date.now() - sessionStart);
  // The time budget ends work in flight too: a deadline signal aborts evaluations and model calls.
  const deadline = new AbortController();
  const budgetMs = settings.budget.timeSeconds !== undefined ? settings.budget.timeSeconds * 1000 : undefined;
  const deadlineTimer = budgetMs !== undefined ? setTimeout(() => deadline.abort("time"), Math.max(0, budgetMs - baseActiveMs)) : undefined;
  const signal = input.signal ? AbortSignal.any([input.signal, deadline.signal]) : deadline.signal;
  const capacity = Math.max(1, await platform.capacity());
  // Every candidate of a generation listens on the run's signal while it waits for a slot, is evaluated
  // (runtime request, process) or is written (model call); listeners are removed as each settles. Node's
  // leak warning at 10 would fire on any generation of more than a few candidates, so the bound is what a
  // generation can hold: a listener count past it is a real leak and still warned about.
  const generation = settings.generationSize ?? Math.max(4, capacity);
  setMaxListeners(Math.max(10, 4 * (generation + settings.operatorConcurrency) + 8), signal, deadline.signal);
  const profile = await platform.hardwareProfile().catch(() => undefined);
  // The time split starts here: starting the platform is neither search nor evaluation.
  const wallStart = performance.now();
  const context: EngineContext = {
    db,
    spec: input.spec,
    platform,
    operator: input.operator,
    policy: input.policy,
    seeds: input.seeds,
    settings,
    language: input.seeds[0]?.language ?? platform.languages[0],
    profile,
    contextProvider: input.contextProvider,
    signal,
    deadline: deadline.signal,
    concurrency: Math.min(capacity, settings.concurrency ?? capacity),
    generationSize: settings.generationSize ?? Math.max(4, capacity),
    activeMs,
    emit: createEmitter(db, settings, activeMs, input.onEvent),
    evaluationClock: new EvaluationClock(),
  };
  const run = db.run();
  const checkpointer = SqliteSaver.fromConnString(runPaths(db.folder).checkpoints);
  const graph = buildEvolveGraph(context, checkpointer);
  const config = { configurable: { thread_id: db.runId }, recursionLimit: 1_000_000 };
  db.updateRun({ status: "running" });
  context.emit(
    "run-start",
    { specId: run.specId, platform: run.platform, operator: run.operator, policy: run.policy, folder: db.folder, resumed: input.resumed },
    0,
  );
  let status: RunStatus = "completed";
  let reason: string | undefined;
  let failure: unknown;
  try {
    const checkpoint = await checkpointer.getTuple(config);
    const final = await graph.invoke(checkpoint ? null : initialState(db.runId, settings.seed), config);
    reason = final.terminationReason ?? undefined;
  } catch (error) {
    // Once a stop was asked for, whatever the abort broke (an evaluation request, a model call) is
    // its consequence, not a failure of the run.
    if (input.signal?.aborted) {
      status = "stopped";
      reason = stopReason(input.signal);
    } else if (deadline.signal.aborted) {
      status = "completed";
      reason = "time";
    } else if (error instanceof RunInterruptedError) {
      status = "stopped";
      reason = "stopped";
    } else {
      failure = error;
      status = "failed";
      // A model that cannot be used says so itself ("model auth: ..."); anything else is an error.
      reason = error instanceof KernelEvolveError && error.fault === "model" ? error.message : `error: ${(error as Error).message}`;
    }
  } finally {
    if (deadlineTimer) clearTimeout(deadlineTimer);
    checkpointer.db.close();
  }
  db.updateRun({ status, terminationReason: reason, activeMs: activeMs(), ...(status === "completed" ? { finishedAt: Date.now() } : {}) });
  const after = db.run();
  context.emit("run-end", { reason: reason ?? "unknown", bestCandidateId: after.bestCandidateId, bestFitness: after.bestFitness, status }, 0);
  const wallMs = performance.now() - wallStart;
  const result: OptimizeResult = {
    runId: db.runId,
    folder: db.folder,
    status,
    reason,
    best: after.bestCandidateId ? db.candidate(after.bestCandidateId) : undefined,
    totals: db.totals(),
    timings: { wallMs, evaluationMs: context.evaluationClock.busyMs, orchestrationMs: wallMs - context.evaluationClock.busyMs },
  };
  if (input.experience && status !== "failed") {
    try {
      await input.experience.recordRun({ runId: db.runId, spec: input.spec, platform: platform.id, candidates: db.candidates() });
    } catch (error) {
      // Memory is a convenience for later runs; its failure must not fail this one.
      context.emit("run-warning", { message: `experience memory not updated: ${(error as Error).message}` }, 0);
    }
  }
  db.close();
  if (failure && status === "failed") throw failure;
  return result;
}

/**
 * Optimises one spec on one platform: evaluates the seeds, then evolves candidates until a limit
 * is reached; everything is persisted in `<runsDirectory>/<runId>/` as it happens.
 * @example const result = await optimize({ spec, platform, operator, policy, seeds, runsDirectory: "runs", budget: { candidates: 30 } });
 */
export async function optimize(options: OptimizeOptions): Promise<OptimizeResult> {
  const { spec, platform, operator, policy, seeds = [], runsDirectory, runId, contextProvider, experience, onEvent, signal, metadata, ...rest } = options;
  const parsed = RunSettingsSchema.safeParse(rest);
  if (!parsed.success) throw new UserError("invalid_options", `invalid optimize options:\n${formatZodIssues(parsed.error)}`);
  if (!spec.targets.includes(platform.id)) {
    throw new UserError("unsupported_platform", `spec '${spec.id}' targets ${spec.targets.join(", ")}, not '${platform.id}'`);
  }
  const unsupported = seeds.filter((seed) => !platform.languages.includes(seed.language));
  if (unsupported.length) {
    throw new UserError("unsupported_language", `platform '${platform.id}' runs ${platform.languages.join(", ")}; seed(s) ${unsupported.map((seed) => `${seed.name} (${seed.language})`).join(", ")} do not fit`);
  }
  requireParts("optimize", operator, policy);
  const id = runId ?? newRunId(spec.id);
  // The lock comes first, so no other process ever sees this run `running` without an owner.
  const folder = join(runsDirectory, id);
  mkdirSync(folder, { recursive: true });
  const lock = acquireRunLock(folder, id, "optimize");
  const stored: StoredConfig = {
    spec,
    settings: parsed.data,
    seeds: seeds.map((seed) => ({ name: seed.name, language: seed.language, source: seed.source })),
    metadata: metadata ?? {},
  };
  let db: RunDatabase;
  try {
    db = RunDatabase.create(folder, {
      id,
      specId: spec.id,
      platform: platform.id,
      operator: operator.id,
      policy: policy.id,
      config: stored as unknown as Record<string, unknown>,
    });
  } catch (error) {
    lock.release();
    throw error;
  }
  return runSession({ db, spec, settings: parsed.data, seeds, platform, operator, policy, contextProvider, experience, onEvent, signal, resumed: false, lock });
}

/** What `resumeRun()` needs: the run folder and the live parts that cannot be stored. */
export interface ResumeOptions {
  folder: string;
  platform: Platform;
  /** The run's operator, rebuilt by the caller (app/ rebuilds it from the stored seeds and the operator's provider). */
  operator: Operator;
  /** The run's policy (the one whose id the run stored). */
  policy: SelectionPolicy;
  contextProvider?: ContextProvider;
  experience?: ExperienceRecorder;
  onEvent?: (event: OptimizeEvent) => void;
  signal?: AbortSignal;
}

/** The stored facts of a run (spec, settings, seeds, metadata), for the CLI to rebuild its parts. */
export function readRunConfig(folder: string): StoredConfig & { operator: string; policy: string; platform: string; status: RunStatus } {
  const db = RunDatabase.open(folder);
  try {
    const run = db.run();
    const config = run.config as unknown as StoredConfig;
    return { ...config, operator: run.operator, policy: run.policy, platform: run.platform, status: run.status };
  } finally {
    db.close();
  }
}

/**
 * Continues an interrupted run from its last checkpoint: pending candidates are evaluated, finished
 * ones are kept as they are, and the loop goes on until a limit is reached. A completed run is left alone.
 */
export async function resumeRun(options: ResumeOptions): Promise<OptimizeResult> {
  const db = RunDatabase.open(options.folder);
  let lock: RunLock;
  try {
    lock = acquireRunLock(db.folder, db.runId, "resume");
  } catch (error) {
    db.close();
    throw error;
  }
  try {
    return await resumeLocked(db, lock, options);
  } catch (error) {
    lock.release();
    throw error;
  }
}

async function resumeLocked(db: RunDatabase, lock: RunLock, options: ResumeOptions): Promise<OptimizeResult> {
  const run = db.run();
  const config = run.config as unknown as StoredConfig;
  if (run.status === "completed") {
    const result: OptimizeResult = {
      runId: run.id,
      folder: db.folder,
      status: run.status,
      reason: run.terminationReason,
      best: run.bestCandidateId ? db.candidate(run.bestCandidateId) : undefined,
      totals: db.totals(),
      timings: { wallMs: 0, evaluationMs: 0, orchestrationMs: 0 },
    };
    db.close();
    lock.release();
    return result;
  }
  if (options.platform.id !== run.platform) {
    db.close();
    throw new UserError("platform_mismatch", `run ${run.id} ran on platform '${run.platform}', not '${options.platform.id}'`);
  }
  const spec = parseSpec(config.spec, `stored in run ${run.id}`);
  const settings = RunSettingsSchema.parse(config.settings);
  const seeds = config.seeds.map((seed) => seedFromSource(seed.name, seed.language, seed.source));
  const { operator, policy } = options;
  try {
    requireParts("resumeRun", operator, policy);
    // The checkpoint holds the policy's state: another policy would be handed state it did not write.
    if (policy.id !== run.policy) throw new UserError("policy_mismatch", `run ${run.id} used policy '${run.policy}', not '${policy.id}'`);
  } catch (error) {
    db.close();
    throw error;
  }
  return runSession({ db, spec, settings, seeds, platform: options.platform, operator, policy, contextProvider: options.contextProvider, experience: options.experience, onEvent: options.onEvent, signal: options.signal, resumed: true, lock });
}
