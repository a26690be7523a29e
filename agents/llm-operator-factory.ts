import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LANGUAGES, type LanguageFacts } from "../core/languages.js";
import type { Language } from "../core/protocol.js";
import type { Operator } from "../core/types.js";
import { createModelsFromConfig, type ModelConfig, type RetryPolicy } from "./models.js";
import { loadPromptTemplates } from "./prompt-builder.js";
import { createUniversalOperator } from "./universal-operator.js";

/** Reads the ABI documents (docs/abi-*.md) that tell the model each language's interface. */
export function loadAbiDocuments(docsDirectory: string): Partial<Record<Language, string>> {
  const documents: Partial<Record<Language, string>> = {};
  for (const [language, facts] of Object.entries(LANGUAGES) as [Language, LanguageFacts][]) {
    const path = join(docsDirectory, facts.abiDocument);
    if (existsSync(path)) documents[language] = readFileSync(path, "utf8").replace(/^# .*\n/, "").trim();
  }
  return documents;
}

/**
 * Builds the LLM operator from model endpoint settings and the repository's prompt and ABI files.
 * @example createLlmOperator({ root, models: [{ name: "qwen2.5-coder", baseUrl: "http://localhost:11434/v1" }] })
 */
export function createLlmOperator(options: { root: string; models: ModelConfig[]; retry?: RetryPolicy; totalTokens?: number; concurrency?: number }): Operator {
  const templates = loadPromptTemplates(join(options.root, "seeds", "prompts"), loadAbiDocuments(join(options.root, "docs")));
  return createUniversalOperator({
    model: createModelsFromConfig(options.models, options.retry),
    templates,
    budget: options.totalTokens ? { totalTokens: options.totalTokens } : undefined,
    concurrency: options.concurrency,
  });
}
