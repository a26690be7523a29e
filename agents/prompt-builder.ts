import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import type { CandidateRecord, MemoryMode, OperatorContext, RetrievedChunk } from "../core/types.js";
import type { EvaluationResult, HardwareProfile, Language } from "../core/protocol.js";
import { DEFAULT_TOLERANCES } from "../core/spec.js";
import { LANGUAGES } from "../core/languages.js";
import { UserError } from "../core/errors.js";
import { retrieveStepContext } from "../retrieval/step-context.js";

/** Rough token count: four characters a token, the usual estimate for code and English. */
export const estimateTokens = (text: string) => Math.ceil(text.length / 4);

/** The prompt templates, read once from seeds/prompts. */
export interface PromptTemplates {
  system: string;
  step: string;
  tasks: Record<string, string>;
  /** Interface (ABI) description per language. */
  abi: Partial<Record<Language, string>>;
}

/** Loads the templates from a prompt folder and the ABI documents from a docs folder. */
export function loadPromptTemplates(promptDirectory: string, abiDocuments: Partial<Record<Language, string>> = {}): PromptTemplates {
  const read = (name: string) => {
    const path = join(promptDirectory, name);
    if (!existsSync(path)) throw new UserError("prompt_missing", `prompt template not found: ${path}`);
    return readFileSync(path, "utf8");
  };
  const tasks: Record<string, string> = {};
  for (const section of read("tasks.md").split(/^## /m).slice(1)) {
    const [name, ...body] = section.split("\n");
    tasks[name.trim()] = body.join("\n").trim();
  }
  return { system: read("system.md"), step: read("step.md"), tasks, abi: abiDocuments };
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, key: string) => values[key] ?? "");
}

/** Cuts text to a token budget, keeping the head and the tail (errors often sit at either end). */
export function truncateToTokens(text: string, tokens: number): string {
  const limit = tokens * 4;
  if (text.length <= limit) return text;
  const head = Math.floor(limit * 0.7);
  const tail = limit - head;
  return `${text.slice(0, head)}\n... [${text.length - limit} characters cut] ...\n${text.slice(text.length - tail)}`;
}

/** A readable summary of one evaluation, for the next prompt. */
export function describeEvaluation(result: EvaluationResult | undefined, logTokens = 600): string {
  if (!result) return "Not evaluated yet.";
  const lines: string[] = [];
  if (result.status === "passed") {
    lines.push(`Correct. Speed-up over the reference: ${result.speedup?.toFixed(3) ?? "n/a"}x at the representative size(s) ${result.timings.map((timing) => timing.size).join(", ")} (the sizes users run; the others are checked for correctness only).`);
  } else {
    lines.push(`FAILED at stage ${result.stage}${result.reason ? ` (${result.reason})` : ""}: ${result.message}`);
  }
  for (const timing of result.timings ?? []) {
    const bandwidth = timing.achievedBandwidthGBs ? `, ${timing.achievedBandwidthGBs.toFixed(1)} GB/s` : "";
    lines.push(`- size ${timing.size}: kernel ${timing.candidate.medianMs.toFixed(4)} ms, reference ${timing.reference.medianMs.toFixed(4)} ms, speed-up ${timing.speedup.toFixed(3)}x${bandwidth}`);
  }
  if (result.mismatch) {
    const mismatch = result.mismatch;
    lines.push(
      `- mismatch on size ${mismatch.size}, output ${mismatch.output}: ${mismatch.mismatched}/${mismatch.total} elements wrong; first at index [${mismatch.firstIndex.join(", ")}]: expected ${mismatch.expected}, got ${mismatch.actual}; max abs error ${mismatch.maxAbsError}`,
    );
  }
  for (const finding of result.staticFindings ?? []) lines.push(`- static check ${finding.check} (${finding.severity}): ${finding.message}`);
  if (result.flags?.length) lines.push(`- flags: ${result.flags.join(", ")}`);
  if (result.status === "failed" && result.log) lines.push(`Log:\n\`\`\`\n${truncateToTokens(result.log, logTokens)}\n\`\`\``);
  return lines.join("\n");
}

function describeHardware(profile: HardwareProfile | undefined): string {
  if (!profile) return "Unknown.";
  const parts = [profile.device];
  if (profile.cores) parts.push(`${profile.cores} cores${profile.threads ? `, ${profile.threads} threads used` : ""}`);
  if (profile.simd?.length) parts.push(`SIMD: ${profile.simd.join(", ")}`);
  if (profile.caches) parts.push(`caches: ${Object.entries(profile.caches).map(([name, size]) => `${name} ${size}`).join(", ")}`);
  if (profile.smCount) parts.push(`${profile.smCount} SMs, compute capability ${profile.computeCapability}`);
  if (profile.l2Bytes) parts.push(`L2 ${(profile.l2Bytes / 2 ** 20).toFixed(0)} MiB`);
  if (profile.memoryGb) parts.push(`${profile.memoryGb.toFixed(0)} GB memory`);
  if (profile.copyBandwidthGBs) parts.push(`measured copy bandwidth ${profile.copyBandwidthGBs.toFixed(0)} GB/s`);
  if (profile.compiler) parts.push(`compiler: ${profile.compiler}`);
  return parts.join("; ") + (profile.notes.length ? `\n${profile.notes.join("\n")}` : "");
}

function candidateSection(title: string, candidate: CandidateRecord, language: Language, logTokens: number): string {
  return `# ${title} (candidate ${candidate.id}${candidate.strategy ? `, ${candidate.strategy}` : ""})\n\`\`\`${LANGUAGES[language].fence}\n${candidate.source.trimEnd()}\n\`\`\`\nEvaluation: ${describeEvaluation(candidate.result, logTokens)}`;
}

/** Renders retrieved chunks as a prompt section. */
export function retrievedSection(chunks: RetrievedChunk[]): string {
  if (!chunks.length) return "";
  const body = chunks.map((chunk) => `## ${chunk.title} [${chunk.source}:${chunk.id}]\n${chunk.text.trim()}`).join("\n\n");
  return `# Knowledge that may help\n${body}`;
}

/** Options of prompt synthesis. */
export interface PromptBudget {
  /** Total tokens the prompt may use. */
  totalTokens: number;
  /** Tokens reserved for retrieved knowledge (taken from what is left). */
  retrievedTokens: number;
}

/** A synthesised prompt and what went into it. */
export interface BuiltPrompt {
  system: string;
  user: string;
  retrievedChunkIds: string[];
  memoryMode: MemoryMode | "seed";
  tokens: number;
}

/** Synthesises the operator's prompt for one step from the templates and the search's state. */
export async function buildPrompt(context: OperatorContext, templates: PromptTemplates, budget: PromptBudget): Promise<BuiltPrompt> {
  const { spec, platform } = context;
  const parent = context.parents[0];
  const mode: MemoryMode | "seed" = parent ? context.memoryMode : "seed";
  const tensor = (item: { name: string; dtype: string; shape: (string | number)[] }) => `${item.name}: ${item.dtype}[${item.shape.join(", ")}]`;
  const tolerances = [...new Set(spec.outputs.map((output) => output.dtype))]
    .map((dtype) => {
      const tolerance = spec.tolerances[dtype] ?? DEFAULT_TOLERANCES[dtype];
      return `${dtype} atol ${tolerance.atol} rtol ${tolerance.rtol}`;
    })
    .join("; ");
  const sections = {
    parent: "",
    feedback: "",
    memory: "",
  };
  if (parent && mode !== "restart") {
    sections.parent = candidateSection("Parent kernel", parent, platform.language, 500);
  }
  if (mode === "inherit" && parent) {
    const ancestors = context.elites.filter((elite) => parent.parentIds.includes(elite.id)).slice(0, 3);
    if (ancestors.length) {
      sections.memory = `# Trajectory\n${ancestors.map((item) => `- ${item.id}${item.strategy ? ` (${item.strategy})` : ""}: ${item.status}, speed-up ${item.fitness.toFixed(3)}x`).join("\n")}`;
    }
  } else if (mode === "compare-siblings") {
    sections.memory = `# Siblings already tried from this parent\n${context.siblings
      .slice(0, 6)
      .map((item) => `- ${item.id}${item.strategy ? ` (${item.strategy})` : ""}: ${item.status === "passed" ? `correct, ${item.fitness.toFixed(3)}x` : `failed: ${item.result?.reason ?? "?"} ${item.result?.message ?? ""}`}`)
      .join("\n")}`;
  } else if (mode === "combine" && context.parents[1]) {
    sections.memory = candidateSection("Second kernel to combine", context.parents[1], platform.language, 200);
  } else if (mode === "restart") {
    const strategies = [...new Set(context.elites.map((item) => item.strategy).filter(Boolean))].slice(0, 8);
    sections.memory = `# Strategies already tried\n${strategies.map((item) => `- ${item}`).join("\n") || "- (none recorded)"}\nBest speed-up so far: ${(context.elites[0]?.fitness ?? 0).toFixed(3)}x.`;
  }
  const values: Record<string, string> = {
    task: templates.tasks[mode] ?? templates.tasks.inherit ?? "",
    spec_id: spec.id,
    spec_category: spec.category,
    spec_description: spec.description,
    inputs: spec.inputs.map(tensor).join("; "),
    outputs: spec.outputs.map(tensor).join("; "),
    dimensions: spec.dimensions.join(", ") || "(none)",
    scalars: Object.entries(spec.scalars).map(([name, value]) => `${name}=${value}`).join(", ") || "(none)",
    sizes: Object.entries(spec.sizes).map(([name, dims]) => `${name} {${Object.entries(dims).map(([key, value]) => `${key}=${value}`).join(", ")}}`).join("; "),
    tolerances,
    constraints: [
      spec.constraints.forbiddenCalls.length ? `Forbidden in the source: ${spec.constraints.forbiddenCalls.join(", ")}` : "",
      spec.constraints.notes ?? "",
    ].filter(Boolean).join("\n"),
    reference: spec.reference.trim(),
    abi: templates.abi[platform.language] ?? `Write a ${LANGUAGES[platform.language].promptName} kernel for the ${platform.id} platform.`,
    hardware: describeHardware(platform.profile),
    parent: sections.parent,
    feedback: "",
    memory: sections.memory,
    retrieved: "",
  };
  const system = fill(templates.system, { platform: platform.id, language_name: LANGUAGES[platform.language].promptName });
  let user = fill(templates.step, values);
  const used = estimateTokens(system) + estimateTokens(user);
  let retrievedChunkIds: string[] = [];
  const room = Math.min(budget.retrievedTokens, budget.totalTokens - used);
  if (context.context && room > 100) {
    // Several queries (the failure, the operator, performance, the hardware) rather than one, so a
    // compile error and the op's own knowledge both reach the prompt.
    const step = await retrieveStepContext([context.context], {
      spec,
      platform: platform.id,
      language: platform.language,
      parentResult: parent?.result,
      tokenBudget: room,
    });
    retrievedChunkIds = step.chunkIds;
    user = fill(templates.step, { ...values, retrieved: retrievedSection(step.chunks) });
  }
  user = user.replace(/\n{3,}/g, "\n\n");
  if (estimateTokens(system) + estimateTokens(user) > budget.totalTokens) {
    user = truncateToTokens(user, Math.max(500, budget.totalTokens - estimateTokens(system)));
  }
  return { system, user, retrievedChunkIds, memoryMode: mode, tokens: estimateTokens(system) + estimateTokens(user) };
}
