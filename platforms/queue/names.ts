import { createHash, randomUUID } from "node:crypto";
import { UserError } from "../../core/errors.js";
import type { EvaluationIdentity } from "../../core/evaluation-context.js";

/**
 * Names of everything the fleet keeps in Redis. BullMQ keys live under `kernelevolve:<queue>:*`;
 * the fleet's own keys (worker heartbeats, the set of queues) under `kernelevolve:fleet:*`.
 */
export const FLEET_PREFIX = "kernelevolve";
/** The tag of jobs and workers that name no hardware tag. */
export const DEFAULT_TAG = "any";
const NAME = /^[a-z0-9][a-z0-9_-]*$/;

/** Checks a platform id or hardware tag used in a queue name (no dots or colons: they separate parts). */
export function checkName(kind: "platform" | "tag", value: string): string {
  if (!NAME.test(value)) throw new UserError("bad_usage", `${kind} '${value}' must be lower-case letters, digits, '-' or '_' (it becomes part of a queue name)`);
  return value;
}

/** One BullMQ queue per platform and hardware tag: `eval.cuda.h100`, `eval.cpu.any`. */
export function queueName(platform: string, tag: string = DEFAULT_TAG): string {
  return `eval.${checkName("platform", platform)}.${checkName("tag", tag)}`;
}

/** The platform and tag a queue name stands for. */
export function parseQueueName(name: string): { platform: string; tag: string } | undefined {
  const match = /^eval\.([a-z0-9][a-z0-9_-]*)\.([a-z0-9][a-z0-9_-]*)$/.exec(name);
  return match ? { platform: match[1], tag: match[2] } : undefined;
}

export const fleetKeys = {
  /** A live worker's registration (JSON), with a TTL refreshed by its heartbeat. */
  worker: (id: string) => `${FLEET_PREFIX}:fleet:worker:${id}`,
  workerPattern: `${FLEET_PREFIX}:fleet:worker:*`,
  /** Every queue name ever used (for `kernelevolve fleet`). */
  queues: `${FLEET_PREFIX}:fleet:queues`,
};

/** Stable JSON: object keys sorted, so equal requests hash equally whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value as Record<string, unknown>)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

const specDigests = new WeakMap<object, string>();

/** The spec's own digest, computed once per spec object (a run evaluates hundreds of candidates of one spec). */
export function specDigest(spec: object): string {
  let digest = specDigests.get(spec);
  if (!digest) {
    digest = createHash("sha256").update(canonical(spec)).digest("hex");
    specDigests.set(spec, digest);
  }
  return digest;
}

/** A short hash of what is evaluated (spec, platform, tag, candidate, options): the evaluation key. */
export function evaluationKey(request: { spec: object; platform: string; tag: string; candidate: unknown; options: unknown }): string {
  return createHash("sha256").update(canonical({ ...request, spec: specDigest(request.spec) })).digest("hex").slice(0, 16);
}

function sanitize(part: string): string {
  return part.replace(/[^A-Za-z0-9_-]/g, "_");
}

/**
 * The job id: `<scope>.<candidate id>.<evaluation key>` when the caller named the candidate (the
 * evolve graph does), so a resumed orchestrator adding the same candidate gets the existing job
 * back instead of a second evaluation; otherwise `adhoc.<uuid>.<key>` (an ad-hoc evaluation is new
 * every time). BullMQ refuses ids with colons and plain integers; these have neither.
 */
export function jobIdFor(identity: EvaluationIdentity | undefined, key: string): string {
  if (!identity) return `adhoc.${randomUUID()}.${key}`;
  return `${sanitize(identity.scope)}.${sanitize(identity.candidateId)}.${key}`;
}

/** The scope part of a job id (for cancelling a run's jobs). */
export function scopeOfJobId(jobId: string): string {
  return jobId.split(".")[0];
}

/** The prefix of every job id of a scope. */
export function scopePrefix(scope: string): string {
  return `${sanitize(scope)}.`;
}
