import { PlatformError, UserError } from "../core/errors.js";
import { parseSpec } from "../core/spec-loader.js";
import type { KernelSpec } from "../core/spec.js";
import { declaredSizes, evaluationPlan } from "../core/spec-sizes.js";
import type { ContextProvider, Operator, Platform, SelectionPolicy } from "../core/types.js";
import type { ModelConfig } from "../agents/models.js";
import { optimize, readRunConfig, resumeRun as resumeStoredRun, type ExperienceRecorder, type OptimizeResult } from "../graphs/evolve/optimize.js";
import type { OptimizeEvent } from "../graphs/evolve/events.js";
import type { RunSettingsInput } from "../graphs/evolve/options.js";
import { seedFromSource, type SeedKernel } from "../graphs/evolve/seeds.js";
import { atBoundary } from "./boundary.js";
import type { Composition } from "./composition.js";
import { OBJECT_OPERATOR_CAPABILITIES, type OperatorCapabilities } from "./operators.js";
import { withDefaultBudget, type RunSettingsRequest } from "./run-request.js";

/**
 * The one place a run is assembled: the CLI's optimize and resume, the chat's start_optimization,
 * the library's optimize() and the benchmarks all resolve their request here, so they check the same
 * things in the same order and get the same defaults.
 */

/** What a run asks for: ids (or objects, from the library) and the engine settings before defaults. */
export interface RunRequest extends RunSettingsRequest {
  /** A spec id, a spec file path, or a spec object. */
  spec: string | KernelSpec;
  /** Platform id; default: the composition's default. */
  platform?: string;
  /** Operator id or object; default: the composition's default (llm with a model, else autotune). */
  operator?: string | Operator;
  /** Policy id or object; default: the composition's default. */
  policy?: string | SelectionPolicy;
  /** Seed kernels; default: the composition's seeds of the spec for the platform. */
  seeds?: SeedKernel[];
  runId?: string;
  /** More facts stored with the run (e.g. the campaign it belongs to); never secrets. */
  metadata?: Record<string, unknown>;
}

/** A request resolved against a composition: every part chosen, checked and defaulted, nothing started yet. */
export interface ResolvedRun {
  spec: KernelSpec;
  platform: Platform;
  operator: Operator;
  operatorId: string;
  capabilities: OperatorCapabilities;
  policy: SelectionPolicy;
  seeds: SeedKernel[];
  settings: RunSettingsInput;
  /** Which sizes every evaluation checks (the requested ones plus the generated ragged size) and which it times (the representative ones). */
  sizes: ReturnType<typeof evaluationPlan>;
  runId?: string;
  /** Retrieval for operators that write prompts (a capability of the operator), else undefined. */
  contextProvider?: ContextProvider;
  experience: ExperienceRecorder;
  /** Facts stored with the run so `resume` rebuilds it (operator, model without its key, fleet without a password). */
  metadata: Record<string, unknown>;
}

/** How a started run reports and stops. */
export interface RunControl {
  onEvent?: (event: OptimizeEvent) => void;
  signal?: AbortSignal;
}

/** The fleet a run used, for `resume` (a password in the URL is not stored: resume then needs --queue). */
function storedFleet(fleet: { queue: string; tag?: string } | undefined): { queue: string; tag?: string } | undefined {
  if (!fleet) return undefined;
  try {
    const url = new URL(fleet.queue);
    url.password = "";
    return { queue: url.toString(), tag: fleet.tag };
  } catch {
    return undefined;
  }
}

/** The stored form of the composition's model: its name, endpoint and prices, never its key. */
function storedModel(model: ModelConfig | undefined): Record<string, unknown> | undefined {
  if (!model) return undefined;
  const { apiKey: _secret, ...rest } = model;
  return Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined));
}

/** The platform by id, refused early when it cannot run here. */
export async function availablePlatform(composition: Composition, id: string): Promise<Platform> {
  const platform = composition.platforms.get(id);
  const availability = await platform.availability();
  if (!availability.available) throw new PlatformError("platform_unavailable", `platform '${platform.id}' is not available here: ${availability.reason ?? "no reason given"}`);
  return platform;
}

/** The spec of a request: an id or path through the composition, an object validated as a spec. */
export function requestedSpec(composition: Composition, spec: string | KernelSpec): KernelSpec {
  if (typeof spec === "string") return composition.resolveSpec(spec).spec;
  if (!spec || typeof spec !== "object") throw new UserError("invalid_spec", "the spec must be a spec id, a spec file path or a spec object");
  return parseSpec(spec, "the spec object passed to the library");
}

/** Refuses sizes the spec does not declare, naming the ones it does. */
export function checkSizes(spec: KernelSpec, sizes: string[] | undefined): void {
  const unknown = (sizes ?? []).filter((size) => !(size in spec.sizes));
  if (unknown.length) throw new UserError("unknown_size", `spec '${spec.id}' has no size ${unknown.join(", ")}. Available: ${declaredSizes(spec).join(", ")}`);
}

/** The operator and what it needs: a provider's declared capabilities, or those of an object handed over. */
function requestedOperator(composition: Composition, request: RunRequest, parts: { spec: KernelSpec; platform: Platform; seeds: SeedKernel[] }): { operator: Operator; capabilities: OperatorCapabilities } {
  if (request.operator !== undefined && typeof request.operator === "object") return { operator: request.operator, capabilities: OBJECT_OPERATOR_CAPABILITIES };
  const provider = composition.operators.get(request.operator ?? composition.defaults.operator);
  return { operator: provider.create(parts), capabilities: provider.capabilities };
}

/**
 * Resolves a run request once: spec, platform (targets, then availability), sizes, seeds, operator
 * and its capabilities, policy, budget and defaults. Throws a UserError or PlatformError for bad
 * input before anything is compiled or any model is called.
 * @example const run = await resolveRun(composition, { spec: "rmsnorm", budget: { candidates: 8 } });
 */
export async function resolveRun(composition: Composition, request: RunRequest): Promise<ResolvedRun> {
  const { spec: specRequest, platform: platformId, operator: _operator, policy: policyRequest, seeds: seedsRequest, runId, metadata, ...requestedSettings } = request;
  const settings = withDefaultBudget(requestedSettings);
  const spec = requestedSpec(composition, specRequest);
  const platformChoice = platformId ?? composition.defaults.platform;
  // The platform id is checked against the registry first, so a typo lists the ids that exist.
  composition.platforms.get(platformChoice);
  if (!spec.targets.includes(platformChoice)) throw new UserError("wrong_target", `spec '${spec.id}' targets ${spec.targets.join(", ")}, not '${platformChoice}'`);
  checkSizes(spec, settings.evaluation?.sizes);
  const policy = typeof policyRequest === "object" ? policyRequest : composition.policies.get(policyRequest ?? composition.defaults.policy);
  const platform = await availablePlatform(composition, platformChoice);
  const seeds = seedsRequest ?? composition.seedsFor(spec, platform);
  const { operator, capabilities } = requestedOperator(composition, request, { spec, platform, seeds });
  return {
    spec,
    platform,
    operator,
    operatorId: operator.id,
    capabilities,
    policy,
    seeds,
    settings,
    sizes: evaluationPlan(spec, settings.evaluation?.sizes),
    runId,
    contextProvider: capabilities.retrieval ? await composition.contextProvider() : undefined,
    experience: await composition.experienceMemory(),
    metadata: {
      ...metadata,
      operatorId: operator.id,
      ...(capabilities.model ? { model: storedModel(composition.options.model) } : {}),
      ...(composition.options.fleet ? { fleet: storedFleet(composition.options.fleet) } : {}),
    },
  };
}

/** Runs a resolved run to its end (or its stop). */
export function runResolved(run: ResolvedRun, runsDirectory: string, control: RunControl = {}): Promise<OptimizeResult> {
  return optimize({
    ...run.settings,
    spec: run.spec,
    platform: run.platform,
    operator: run.operator,
    policy: run.policy,
    seeds: run.seeds,
    runId: run.runId,
    runsDirectory,
    contextProvider: run.contextProvider,
    experience: run.experience,
    metadata: run.metadata,
    onEvent: control.onEvent,
    signal: control.signal,
  });
}

/**
 * Resolves a run request and runs it; the result settles when the run ends or is stopped.
 * @example const result = await startRun(composition, { spec: "gelu" }, { onEvent: console.log });
 */
export async function startRun(composition: Composition, request: RunRequest, control: RunControl = {}): Promise<OptimizeResult> {
  return atBoundary("the run", async () => runResolved(await resolveRun(composition, request), composition.options.runsDirectory, control));
}

/** The stored choices of a run that `resume` reuses unless told otherwise: its model (no key) and its fleet. */
export interface StoredRunChoices {
  status: string;
  model?: { name?: string; baseUrl?: string; inputCostPerMillion?: number; outputCostPerMillion?: number };
  fleet?: { queue?: string; tag?: string };
}

/** Reads what a stopped run used, so the caller can open a composition with the same model and fleet. */
export function storedRunChoices(folder: string): StoredRunChoices {
  const config = readRunConfig(folder);
  return { status: config.status, model: (config.metadata?.model ?? undefined) as StoredRunChoices["model"], fleet: config.metadata?.fleet as StoredRunChoices["fleet"] };
}

/**
 * The model a resumed run uses: the one asked for, else the one it used (with the prices it was
 * given, when it is the same model), else the environment's.
 */
export function resumeModel(stored: StoredRunChoices["model"], asked: { name?: string; baseUrl?: string }, environment: { name?: string; baseUrl?: string; apiKey?: string }): ModelConfig | undefined {
  const name = asked.name ?? stored?.name ?? environment.name;
  if (!name) return undefined;
  const prices = stored && name === stored.name ? Object.fromEntries(Object.entries({ inputCostPerMillion: stored.inputCostPerMillion, outputCostPerMillion: stored.outputCostPerMillion }).filter(([, value]) => value !== undefined)) : {};
  return { name, baseUrl: asked.baseUrl ?? stored?.baseUrl ?? environment.baseUrl, apiKey: environment.apiKey, ...prices } as ModelConfig;
}

/**
 * Continues a stopped or interrupted run with the composition's parts: the platform it ran on, its
 * operator rebuilt from the stored seeds, its policy, and retrieval when the operator needs it.
 * @example const result = await resumeRun(composition, "runs/20261207-101010-gelu-ab12");
 */
export async function resumeRun(composition: Composition, folder: string, control: RunControl = {}): Promise<OptimizeResult> {
  return atBoundary("resuming the run", () => resumeWith(composition, folder, control));
}

async function resumeWith(composition: Composition, folder: string, control: RunControl): Promise<OptimizeResult> {
  const config = readRunConfig(folder);
  const platform = await availablePlatform(composition, config.platform);
  const operatorId = (config.metadata?.operatorId as string | undefined) ?? config.operator;
  const seeds = config.seeds.map((seed) => seedFromSource(seed.name, seed.language, seed.source));
  const provider = composition.operators.get(operatorId);
  const operator = provider.create({ spec: config.spec, platform, seeds });
  const policy = composition.policies.get(config.policy);
  const contextProvider = provider.capabilities.retrieval ? await composition.contextProvider() : undefined;
  const experience = await composition.experienceMemory();
  return resumeStoredRun({ folder, platform, operator, policy, contextProvider, experience, onEvent: control.onEvent, signal: control.signal });
}
