import { UserError } from "../core/errors.js";
import type { CandidateSource, EvaluationOptions, EvaluationResult } from "../core/protocol.js";
import type { KernelSpec } from "../core/spec.js";
import type { Platform } from "../core/types.js";
import { atBoundary } from "./boundary.js";
import type { Composition } from "./composition.js";
import { availablePlatform, checkSizes, requestedSpec } from "./start-run.js";

/** What evaluating one kernel asks for: a spec, the kernel, where to run it and how. */
export interface EvaluationRequest {
  /** A spec id, a spec file path, or a spec object. */
  spec: string | KernelSpec;
  candidate: CandidateSource;
  /** Platform id; default: the composition's default when it runs the candidate's language and the spec targets it, else the first platform that does. */
  platform?: string;
  options?: EvaluationOptions;
}

/** A resolved evaluation: the spec and the (available) platform that runs the candidate. */
export interface ResolvedEvaluation {
  spec: KernelSpec;
  platform: Platform;
}

/**
 * Resolves an evaluation once for the CLI's evaluate and the library's evaluate(): spec, sizes,
 * the platform for the candidate's language, the spec's targets and the platform's availability.
 * @example const { spec, platform } = await resolveEvaluation(composition, { spec: "gelu", candidate });
 */
export async function resolveEvaluation(composition: Composition, request: EvaluationRequest): Promise<ResolvedEvaluation> {
  const candidate = request.candidate as Partial<CandidateSource> | undefined;
  if (!candidate || typeof candidate.source !== "string" || typeof candidate.language !== "string") {
    throw new UserError("invalid_candidate", "the candidate must be an object with a language (e.g. 'cpp') and its source text");
  }
  const spec = requestedSpec(composition, request.spec);
  checkSizes(spec, request.options?.sizes);
  const language = request.candidate.language;
  const runsIt = (platform: Platform) => platform.languages.includes(language) && spec.targets.includes(platform.id);
  const preferred = composition.platforms.get(composition.defaults.platform);
  const platformId = request.platform ?? (runsIt(preferred) ? preferred.id : (composition.platforms.values().find(runsIt)?.id ?? preferred.id));
  const chosen = composition.platforms.get(platformId);
  if (!chosen.languages.includes(language)) throw new UserError("wrong_language", `platform '${chosen.id}' runs ${chosen.languages.join(", ")} kernels, not ${language}`);
  if (!spec.targets.includes(chosen.id)) throw new UserError("wrong_target", `spec '${spec.id}' targets ${spec.targets.join(", ")}, not '${chosen.id}'`);
  return { spec, platform: await availablePlatform(composition, chosen.id) };
}

/**
 * Compiles, checks and times one kernel; a failing kernel is a result, bad input an exception.
 * @example const { result } = await evaluateKernel(composition, { spec: "gelu", candidate: { language: "cpp", source } });
 */
export async function evaluateKernel(composition: Composition, request: EvaluationRequest, signal?: AbortSignal): Promise<ResolvedEvaluation & { result: EvaluationResult }> {
  return atBoundary("the evaluation", async () => {
    const resolved = await resolveEvaluation(composition, request);
    const result = await resolved.platform.evaluate(resolved.spec, request.candidate, request.options, signal);
    return { ...resolved, result };
  });
}
