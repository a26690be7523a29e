import { UserError } from "../core/errors.js";
import type { KernelSpec } from "../core/spec.js";
import type { Operator, Platform } from "../core/types.js";
import { createLlmOperator } from "../agents/llm-operator-factory.js";
import type { ModelConfig } from "../agents/models.js";
import { createAutotuneOperator } from "../agents/autotune-operator.js";
import { seedTemplates, type SeedKernel } from "../graphs/evolve/seeds.js";

/** What a run must give an operator; the run assembly asks these instead of comparing operator ids. */
export interface OperatorCapabilities {
  /** The operator writes prompts, so the knowledge base and past runs are retrieved for it. */
  retrieval: boolean;
  /** The operator calls a model (the run records the model, and cannot start without one). */
  model: boolean;
}

/** Builds an operator for one run (the autotune operator needs the run's seed templates). */
export interface OperatorProvider {
  id: string;
  description: string;
  capabilities: OperatorCapabilities;
  create(input: { spec: KernelSpec; platform: Platform; seeds: SeedKernel[] }): Operator;
}

/** What an operator handed over as an object (a plugin's, or the library caller's) is assumed to need: it may write prompts. */
export const OBJECT_OPERATOR_CAPABILITIES: OperatorCapabilities = { retrieval: true, model: false };

/** The autotune operator over the seeds' templates; a spec without a template has nothing to tune. */
export function autotuneOperatorFor(seeds: SeedKernel[], specId: string, platformId: string): Operator {
  const templates = seedTemplates(seeds);
  if (templates.length === 0) {
    throw new UserError(
      "no_template",
      `spec '${specId}' has no template seed kernel for platform '${platformId}', so the offline autotune operator has nothing to tune; use the llm operator with a model (--model) or add a template (docs/abi-cpu.md)`,
    );
  }
  return createAutotuneOperator({ templates });
}

/** The operator id used when a run names none: the LLM operator when a model is configured, else the offline autotuner. */
export function defaultOperatorId(model: ModelConfig | undefined): string {
  return model?.name ? "llm" : "autotune";
}

/** A provider for an operator object (a plugin's): every run gets the same object. */
export function objectOperatorProvider(operator: Operator): OperatorProvider {
  return { id: operator.id, description: operator.description, capabilities: OBJECT_OPERATOR_CAPABILITIES, create: () => operator };
}

/** The built-in operators: the offline autotuner over the seeds' templates, and the universal LLM operator. */
export function builtinOperators(options: { root: string; model?: ModelConfig }): OperatorProvider[] {
  return [
    {
      id: "autotune",
      description: "Offline: tunes the parameters of the spec's template seed kernels (no model needed)",
      // It writes no prompt, so nothing is retrieved for it.
      capabilities: { retrieval: false, model: false },
      create: ({ spec, platform, seeds }) => autotuneOperatorFor(seeds, spec.id, platform.id),
    },
    {
      id: "llm",
      description: "The universal LLM operator (needs a model: --model or KERNELEVOLVE_MODEL)",
      capabilities: { retrieval: true, model: true },
      create: () => {
        if (!options.model?.name) throw new UserError("no_model", "operator 'llm' needs a model: set KERNELEVOLVE_MODEL (and KERNELEVOLVE_BASE_URL) or pass --model");
        return createLlmOperator({ root: options.root, models: [options.model] });
      },
    },
  ];
}
