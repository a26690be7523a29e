import { PlatformError, UserError } from "../core/errors.js";
import { formatZodIssues } from "../core/spec-loader.js";
import {
  CandidateSourceSchema,
  EvaluationOptionsSchema,
  type CandidateSource,
  type EvaluationOptions,
  type EvaluationResult,
  type HardwareProfile,
  type Language,
} from "../core/protocol.js";
import type { KernelSpec } from "../core/spec.js";
import type { Platform, PlatformCapabilities } from "../core/types.js";
import { ConcurrencyLimit } from "./concurrency-limit.js";
import type { RuntimeClient } from "./runtime-client.js";

/** What distinguishes one runtime-backed platform from another: data, no code. */
export interface RuntimePlatformDefinition {
  /** kebab-case id the runtime knows the platform by. */
  id: string;
  languages: Language[];
  description: string;
  capabilities: PlatformCapabilities;
}

export interface RuntimePlatformOptions {
  client: RuntimeClient;
  /** Whether close() also closes the client (false when several platforms share one runtime). */
  ownsClient?: boolean;
  /** Caps the runtime's reported capacity (e.g. to leave cores to the reference timing). */
  maxCapacity?: number;
}

/** A result for a candidate refused before it reached the runtime (wrong language, wrong target). */
function refusedResult(platform: string, message: string): EvaluationResult {
  return {
    status: "failed",
    stage: "static",
    reason: "unsupported_platform",
    message,
    log: "",
    platform,
    staticFindings: [],
    trials: [],
    timings: [],
    flags: [],
    durations: { total: 0 },
  };
}

/**
 * A Platform whose candidates are evaluated by the local Python runtime. The Node side bounds
 * concurrency by the runtime's capacity, so a queue-backed platform can later take its place
 * without callers noticing.
 */
export class RuntimePlatform implements Platform {
  readonly id: string;
  readonly languages: Language[];
  readonly description: string;
  readonly capabilities: PlatformCapabilities;
  private readonly client: RuntimeClient;
  private readonly ownsClient: boolean;
  private readonly maxCapacity?: number;
  private limit?: ConcurrencyLimit;

  constructor(definition: RuntimePlatformDefinition, options: RuntimePlatformOptions) {
    if (definition.languages.length === 0) throw new UserError("invalid_platform", `platform '${definition.id}' must declare at least one language`);
    this.id = definition.id;
    this.languages = [...definition.languages];
    this.description = definition.description;
    this.capabilities = { ...definition.capabilities };
    this.client = options.client;
    this.ownsClient = options.ownsClient ?? true;
    this.maxCapacity = options.maxCapacity;
  }

  /** The most evaluations this platform had in flight at once (for tests and the conformance suite). */
  get peakConcurrency(): number {
    return this.limit?.peak ?? 0;
  }

  /** Process ids this platform keeps alive (the runtime's process group). */
  processIds(): number[] {
    const pid = this.client.processId;
    return pid === undefined ? [] : [pid];
  }

  async availability(): Promise<{ available: boolean; reason?: string }> {
    let hello;
    try {
      hello = await this.client.hello();
    } catch (error) {
      return { available: false, reason: (error as Error).message };
    }
    const entry = hello.platforms.find((platform) => platform.id === this.id);
    if (!entry) {
      return { available: false, reason: `the Python runtime ${hello.runtimeVersion} does not know platform '${this.id}' (it knows: ${hello.platforms.map((platform) => platform.id).join(", ") || "none"})` };
    }
    return entry.available ? { available: true } : { available: false, reason: entry.reason ?? "the runtime reports it unavailable" };
  }

  async hardwareProfile(): Promise<HardwareProfile> {
    return this.client.hardwareProfile(this.id);
  }

  async capacity(): Promise<number> {
    const hello = await this.client.hello();
    const entry = hello.platforms.find((platform) => platform.id === this.id);
    const reported = entry?.capacity ?? 1;
    return this.maxCapacity ? Math.max(1, Math.min(reported, this.maxCapacity)) : reported;
  }

  async evaluate(spec: KernelSpec, candidate: CandidateSource, options: EvaluationOptions = {}, signal?: AbortSignal): Promise<EvaluationResult> {
    const source = CandidateSourceSchema.safeParse(candidate);
    if (!source.success) throw new UserError("invalid_candidate", `invalid candidate:\n${formatZodIssues(source.error)}`);
    const parsedOptions = EvaluationOptionsSchema.safeParse(options);
    if (!parsedOptions.success) throw new UserError("invalid_options", `invalid evaluation options:\n${formatZodIssues(parsedOptions.error)}`);
    if (!this.languages.includes(source.data.language)) {
      return refusedResult(this.id, `platform '${this.id}' runs ${this.languages.join(", ")} candidates, not ${source.data.language}`);
    }
    if (!spec.targets.includes(this.id)) {
      return refusedResult(this.id, `spec '${spec.id}' targets ${spec.targets.join(", ")}, not '${this.id}'`);
    }
    const unknownSizes = (parsedOptions.data.sizes ?? []).filter((size) => !(size in spec.sizes));
    if (unknownSizes.length) {
      throw new UserError("unknown_size", `spec '${spec.id}' has no size ${unknownSizes.map((size) => `'${size}'`).join(", ")}. Available: ${Object.keys(spec.sizes).join(", ")}`);
    }
    const availability = await this.availability();
    if (!availability.available) throw new PlatformError("platform_unavailable", `platform '${this.id}' is not available: ${availability.reason}`);

    const limit = await this.concurrencyLimit();
    const release = await limit.acquire(signal);
    try {
      return await this.client.evaluate(spec, this.id, source.data, parsedOptions.data, {
        signal,
        // The slot is held until the runtime is really done, even when the caller gave up early.
        onSettled: release,
      });
    } catch (error) {
      // Errors thrown before the request existed (bad options) never reach onSettled.
      if (!(error instanceof PlatformError)) release();
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.close();
  }

  private async concurrencyLimit(): Promise<ConcurrencyLimit> {
    const capacity = await this.capacity();
    if (!this.limit) this.limit = new ConcurrencyLimit(capacity);
    else this.limit.setLimit(capacity);
    return this.limit;
  }
}
