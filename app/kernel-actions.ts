import { basename } from "node:path";
import { UserError } from "../core/errors.js";
import type { EvaluationOptions } from "../core/protocol.js";
import { representativeSizes } from "../core/spec-sizes.js";
import type { KernelActions, StartOptimizationInput } from "../tools/kernel-tools.js";
import type { OptimizeResult } from "../graphs/evolve/optimize.js";
import type { OptimizeEvent } from "../graphs/evolve/events.js";
import { RunDatabase } from "../graphs/runs/run-database.js";
import { listRunIds, newRunId, resolveRunFolder } from "../graphs/runs/run-paths.js";
import { writeRunReport } from "../graphs/runs/report/write-report.js";
import type { Composition } from "./composition.js";
import { resolveRun, runResolved } from "./start-run.js";
import { compareView, findCandidate, kernelView, reportView, runListLine, runStatusView } from "./run-views.js";

/** A run started by this process and still owned by it. */
interface ActiveRun {
  runId: string;
  controller: AbortController;
  done: Promise<void>;
  result?: OptimizeResult;
  error?: Error;
}

export interface KernelActionServiceOptions {
  /** Evaluation options of every run started here (tests keep them small). */
  evaluation?: Partial<EvaluationOptions>;
}

/** Runs a function over an opened run database and closes it afterwards. */
function withRun<T>(folder: string, read: (db: RunDatabase) => T): T {
  const db = RunDatabase.open(folder);
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/**
 * The product's actions over a composition: specs, background optimisation runs (started with
 * optimize(), stopped through an AbortSignal) and views of every run in the runs directory.
 * Listeners receive the events of every run started here, which is how progress reaches a chat.
 */
export class KernelActionService implements KernelActions {
  private readonly active = new Map<string, ActiveRun>();
  private readonly listeners = new Set<(event: OptimizeEvent) => void>();

  constructor(
    private readonly composition: Composition,
    private readonly options: KernelActionServiceOptions = {},
  ) {}

  /** Subscribes to the events of runs started by this service; returns the unsubscribe function. */
  onRunEvent(listener: (event: OptimizeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async listSpecs(): Promise<string> {
    const lines = this.composition.specs.values().map((entry) => {
      const origin = this.composition.originOf("spec", entry.id);
      const from = origin.startsWith("plugin") ? `  [${origin.split(" (")[0]}]` : "";
      return `${entry.id}  (${entry.spec.category}; sizes ${Object.keys(entry.spec.sizes).join(", ")}; targets ${entry.spec.targets.join(", ")})${from}\n    ${entry.spec.description.trim().replace(/\s+/g, " ")}`;
    });
    return `${lines.length} specs:\n${lines.join("\n")}`;
  }

  async explainSpec(specId: string): Promise<string> {
    const { spec, origin, baselines, templates } = this.composition.resolveSpec(specId);
    const tensor = (t: { name: string; dtype: string; shape: (string | number)[] }) => `    ${t.name}: ${t.dtype}[${t.shape.join(", ")}]`;
    return [
      `${spec.id} (${spec.category}) from ${origin}`,
      `  ${spec.description.trim()}`,
      `  inputs:`,
      ...spec.inputs.map(tensor),
      `  outputs:`,
      ...spec.outputs.map(tensor),
      `  sizes: ${Object.entries(spec.sizes).map(([name, dims]) => `${name} (${Object.entries(dims).map(([dim, value]) => `${dim}=${value}`).join(" ")})`).join("; ")}`,
      `  targets: ${spec.targets.join(", ")}`,
      `  seed kernels: baseline on ${baselines.join(", ") || "none"}; template on ${templates.join(", ") || "none"}`,
      ...(spec.constraints.forbiddenCalls.length ? [`  forbidden calls: ${spec.constraints.forbiddenCalls.join(", ")}`] : []),
      ...(spec.constraints.notes ? [`  notes: ${spec.constraints.notes.trim()}`] : []),
      `  reference:`,
      ...spec.reference.trimEnd().split("\n").map((line) => `    ${line}`),
    ].join("\n");
  }

  async startOptimization(request: StartOptimizationInput): Promise<{ runId: string; message: string }> {
    const run = await resolveRun(this.composition, {
      spec: request.spec,
      platform: request.platform,
      operator: request.operator,
      policy: request.policy,
      budget: request.budget !== undefined ? { candidates: request.budget } : undefined,
      target: request.target,
      evaluation: { ...this.options.evaluation, ...(request.sizes?.length ? { sizes: request.sizes } : {}) },
    });
    const runId = newRunId(run.spec.id);
    const controller = new AbortController();
    const active: ActiveRun = { runId, controller, done: Promise.resolve() };
    active.done = runResolved({ ...run, runId }, this.composition.options.runsDirectory, {
      signal: controller.signal,
      onEvent: (event) => this.listeners.forEach((listener) => listener(event)),
    }).then(
      (result) => {
        active.result = result;
      },
      (error: unknown) => {
        active.error = error instanceof Error ? error : new Error(String(error));
      },
    );
    this.active.set(runId, active);
    const { checked, timed, flags } = run.sizes;
    const sizes = `checked at ${checked.join(", ")}, timed at ${timed.join(", ")}${flags.includes("timed-non-representative") ? ` (not a representative size of the spec: ${representativeSizes(run.spec).join(", ")}; speed-ups may not carry over)` : ""}`;
    return {
      runId,
      message: `Started run ${runId}: spec ${run.spec.id} on ${run.platform.id}, operator ${run.operator.id}, policy ${run.policy.id}, budget ${run.settings.budget.candidates} candidates; ${sizes}. Follow it with watch_run("${runId}").`,
    };
  }

  /** The folder and id of a run reference (id, prefix, 'latest'). */
  private locate(reference: string): { folder: string; runId: string } {
    const folder = resolveRunFolder(this.composition.options.runsDirectory, reference);
    return { folder, runId: basename(folder) };
  }

  async watchRun(reference: string, waitSeconds = 0): Promise<string> {
    const { folder, runId } = this.locate(reference);
    const active = this.active.get(runId);
    if (active && waitSeconds > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([active.done, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitSeconds * 1000)))]);
      clearTimeout(timer);
    }
    return withRun(folder, (db) => runStatusView(db, { live: Boolean(active), error: active?.error?.message }));
  }

  /** Waits until a run started here settles (for scripts and tests). */
  async waitForRun(runId: string): Promise<OptimizeResult | undefined> {
    const active = this.active.get(runId);
    if (!active) throw new UserError("run_not_active", `run ${runId} was not started in this session`);
    await active.done;
    if (active.error) throw active.error;
    return active.result;
  }

  async stopRun(reference: string): Promise<string> {
    const { folder, runId } = this.locate(reference);
    const active = this.active.get(runId);
    const status = withRun(folder, (db) => db.run().status);
    if (!active || active.result || active.error) return `Run ${runId} is not running in this session (status: ${status}); nothing to stop.`;
    active.controller.abort("stopped from the chat");
    await active.done;
    return `Stopped run ${runId}.\n${withRun(folder, (db) => runStatusView(db, { recent: 2 }))}\nIt can be continued later with 'kernelevolve resume ${runId}'.`;
  }

  async listRuns(limit = 10): Promise<string> {
    const ids = listRunIds(this.composition.options.runsDirectory).slice(0, limit);
    if (!ids.length) return `No runs yet in ${this.composition.options.runsDirectory}. Start one with start_optimization.`;
    const lines = ids.map((id) => withRun(`${this.composition.options.runsDirectory}/${id}`, (db) => runListLine(db, this.active.has(id))));
    return `${ids.length} run(s), newest first (* running in this session):\n${lines.join("\n")}`;
  }

  async showKernel(reference: string, candidateId?: string): Promise<string> {
    const { folder } = this.locate(reference);
    return withRun(folder, (db) => kernelView(db, findCandidate(db, candidateId)));
  }

  async compareKernels(request: { runId: string; first?: string; second?: string; otherRunId?: string }): Promise<string> {
    const { folder } = this.locate(request.runId);
    const otherFolder = request.otherRunId ? this.locate(request.otherRunId).folder : folder;
    return withRun(folder, (db) =>
      withRun(otherFolder, (other) =>
        compareView({ db, candidate: findCandidate(db, request.first ?? "baseline") }, { db: other, candidate: findCandidate(other, request.second ?? "best") }),
      ),
    );
  }

  async showReport(reference: string): Promise<string> {
    const { folder, runId } = this.locate(reference);
    const summary = withRun(folder, (db) => reportView(db));
    // The full report (lineage tree, speed-up chart) is written only once the run has stopped.
    if (this.active.has(runId) && !this.active.get(runId)!.result && !this.active.get(runId)!.error) return summary;
    const written = writeRunReport(folder);
    return `${summary}

Full report: ${written.markdown} and ${written.html}`;
  }

  /** Stops every run still going (each keeps what it found) and waits for them. */
  async close(): Promise<void> {
    for (const run of this.active.values()) run.controller.abort("stopped: the chat ended");
    await Promise.all([...this.active.values()].map((run) => run.done));
  }
}
