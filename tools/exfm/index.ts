import { tool } from "@langchain/core/tools";
import type { StructuredToolInterface } from "@langchain/core/tools";
import { mkdirSync } from "node:fs";
import {
  EvaluateSchema,
  GenerateDataSchema,
  ProfileSchema,
  TrainFoundationSchema,
  TrainVerticalSchema,
} from "./schemas.js";
import { callExfm, describeIssues, explainFailure, isInvalid, lenient, resolveInside, type ExfmToolOptions } from "./call-exfm.js";

export type { ExfmToolOptions } from "./call-exfm.js";
export * from "./schemas.js";

/**
 * The ExFM pipeline as agent tools: exfm_generate_data, exfm_train_foundation, exfm_train_vertical,
 * exfm_evaluate and exfm_profile. Each validates its arguments, runs the Python pipeline, and returns
 * its JSON result as text; bad arguments come back as a message saying which field to change.
 * @example const tools = createExfmTools({ python: ".venv/bin/python", pythonPath: "python", workDirectory: "work/exfm" });
 */
export function createExfmTools(options: ExfmToolOptions): StructuredToolInterface[] {
  mkdirSync(options.workDirectory, { recursive: true });
  const inside = (path: string, field: string) => resolveInside(options.workDirectory, path, field);

  /** Validates, resolves paths, runs the command, and answers with JSON or an instructive message. */
  const run = async <T>(name: string, input: T | { invalid: import("zod").ZodError }, command: string, prepare: (args: T) => Record<string, unknown>) => {
    if (isInvalid(input)) return `${name}: invalid arguments: ${describeIssues(input.invalid)}`;
    try {
      const result = await callExfm(command, prepare(input as T), options);
      return JSON.stringify(result);
    } catch (error) {
      return explainFailure(name, error);
    }
  };

  return [
    tool((input) => run("exfm_generate_data", input, "generate-data", (args) => ({ ...args, output: inside(args.output, "output") })), {
      name: "exfm_generate_data",
      description:
        "Generate a deterministic synthetic ads stream (several domains, jagged sparse ids, dense features, a known click model, id churn and preference drift over time windows). Returns the folder, vocabulary sizes and click rates per window and domain.",
      schema: lenient(GenerateDataSchema),
    }),
    tool(
      (input) =>
        run("exfm_train_foundation", input, "train-foundation", (args) => ({ ...args, data: inside(args.data, "data"), output: inside(args.output, "output") })),
      {
        name: "exfm_train_foundation",
        description:
          "Train the large foundation model (FM) on all domains over the stream and publish its predictions through DAS, one file per staleness k (the FM refreshed every k windows). Returns the 'das' paths (map k -> file) that exfm_train_vertical needs, and the FM's NE per window.",
        schema: lenient(TrainFoundationSchema),
      },
    ),
    tool(
      (input) =>
        run("exfm_train_vertical", input, "train-vertical", (args) => ({
          ...args,
          data: inside(args.data, "data"),
          das: args.das ? inside(args.das, "das") : undefined,
          output: args.output ? inside(args.output, "output") : undefined,
        })),
      {
        name: "exfm_train_vertical",
        description:
          "Train one small vertical model (VM) for a domain over the stream, evaluating each next window before training on it. Variants: plain, distilled, auxiliary, adapter. Returns NE (lower is better), AUC, per-window metrics, the FM's NE on the same examples, and the checkpoint path.",
        schema: lenient(TrainVerticalSchema),
      },
    ),
    tool(
      (input) =>
        run("exfm_evaluate", input, "evaluate", (args) => ({
          ...args,
          data: inside(args.data, "data"),
          models: args.models.map((path, index) => inside(path, `models.${index}`)),
          das: args.das.map((path, index) => inside(path, `das.${index}`)),
          baseline: args.baseline ? inside(args.baseline, "baseline") : undefined,
        })),
      {
        name: "exfm_evaluate",
        description:
          "Score saved checkpoints and DAS files on chosen windows and domain: NE, AUC, per-window NE, and relative NE gain (percent) over a baseline among them.",
        schema: lenient(EvaluateSchema),
      },
    ),
    tool((input) => run("exfm_profile", input, "profile", (args) => ({ ...args, output: inside(args.output, "output") })), {
      name: "exfm_profile",
      description:
        "Profile a VM or FM training step with torch.profiler: per-operator time breakdown and forward time per region (embedding bags, interaction, MLP, loss). Writes the hot operators as kernel spec YAML files (embedding bag over jagged ids, dot interaction, DCNv2 cross, MLP, fused multi-term loss) that `kernelevolve optimize` accepts; returns the breakdown and the spec paths.",
      schema: lenient(ProfileSchema),
    }),
  ];
}
