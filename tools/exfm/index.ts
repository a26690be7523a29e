import type { StructuredToolInterface } from "@langchain/core/tools";
import { createPipelineTools, pipelineTool, type Pipeline, type PipelineToolOptions } from "../pipeline-tools.js";
import { measuredText, swapTool } from "../pipeline-swap.js";
import { EvaluateSchema, GenerateDataSchema, ProfileSchema, TrainFoundationSchema, TrainVerticalSchema } from "./schemas.js";

export * from "./schemas.js";

/** What the ExFM tools need from the composition root. */
export type ExfmToolOptions = PipelineToolOptions;

/** The ExFM tools, one row per command of `python -m pipelines.exfm` (python/pipelines/exfm/__main__.py); each answers with the command's JSON result. */
export const EXFM_PIPELINE: Pipeline<ExfmToolOptions> = {
  module: "pipelines.exfm",
  tools: [
    pipelineTool({
      name: "exfm_generate_data",
      command: "generate-data",
      description:
        "Generate a deterministic synthetic ads stream (several domains, jagged sparse ids, dense features, a known click model, id churn and preference drift over time windows). Returns the folder, vocabulary sizes and click rates per window and domain.",
      schema: GenerateDataSchema,
      paths: ["output"],
    }),
    pipelineTool({
      name: "exfm_train_foundation",
      command: "train-foundation",
      description:
        "Train the large foundation model (FM) on all domains over the stream and publish its predictions through DAS, one file per staleness k (the FM refreshed every k windows). Returns the 'das' paths (map k -> file) that exfm_train_vertical needs, and the FM's NE per window.",
      schema: TrainFoundationSchema,
      paths: ["data", "output"],
    }),
    pipelineTool({
      name: "exfm_train_vertical",
      command: "train-vertical",
      description:
        "Train one small vertical model (VM) for a domain over the stream, evaluating each next window before training on it. Variants: plain, distilled, auxiliary, adapter. Returns NE (lower is better), AUC, per-window metrics, the FM's NE on the same examples, and the checkpoint path.",
      schema: TrainVerticalSchema,
      paths: ["data", "das", "output"],
    }),
    pipelineTool({
      name: "exfm_evaluate",
      command: "evaluate",
      description:
        "Score saved checkpoints and DAS files on chosen windows and domain: NE, AUC, per-window NE, and relative NE gain (percent) over a baseline among them.",
      schema: EvaluateSchema,
      paths: ["data", "models", "das", "baseline"],
    }),
    pipelineTool({
      name: "exfm_profile",
      command: "profile",
      description:
        "Profile a VM or FM training step with torch.profiler: per-operator time breakdown and forward time per region (embedding bags, interaction, MLP, loss). Writes the hot operators as kernel spec YAML files (embedding bag over jagged ids, dot interaction, DCNv2 cross, MLP, fused multi-term loss) that `kernelevolve optimize` accepts; returns the breakdown and the spec paths.",
      schema: ProfileSchema,
      paths: ["output"],
      summary: (result) => `Profiled the ${result.target} ${result.variant} training step; ${measuredText(result)}`,
    }),
    swapTool("exfm", ["exfm.dot_interaction", "exfm.repeat_interleave"]),
  ],
};

/**
 * The ExFM pipeline as agent tools: exfm_generate_data, exfm_train_foundation, exfm_train_vertical, exfm_evaluate
 * and exfm_profile. Each validates its arguments, runs the Python pipeline, and returns its JSON result as text;
 * bad arguments come back as a message saying which field to change.
 * @example const tools = createExfmTools({ python: ".venv/bin/python", pythonPath: "python", workDirectory: "work/exfm" });
 */
export function createExfmTools(options: ExfmToolOptions): StructuredToolInterface[] {
  return createPipelineTools(EXFM_PIPELINE, options);
}
