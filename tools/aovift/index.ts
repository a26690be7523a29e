import type { StructuredToolInterface } from "@langchain/core/tools";
import { createPipelineTools, pipelineTool, type Pipeline, type PipelineToolOptions } from "../pipeline-tools.js";
import { measuredText, swapTool } from "../pipeline-swap.js";
import { CorrectInputSchema, PredictInputSchema, ProfileInputSchema, SimulateInputSchema, TrainInputSchema } from "./schemas.js";
import { writeSeededSpecs, type ProfiledOperator } from "./seed-specs.js";

export * from "./schemas.js";

/** What the AOViFT tools need from the composition root. */
export interface AoviftToolOptions extends PipelineToolOptions {
  /** The repository's seeds/ folder: profiled operators that fit one of its seeded specs get a spec with seeds. */
  seedsRoot?: string;
}

/** The AOViFT tools, one row per command of `python -m pipelines.aovift` (python/pipelines/aovift/cli.py). */
export const AOVIFT_PIPELINE: Pipeline<AoviftToolOptions> = {
  module: "pipelines.aovift",
  tools: [
    pipelineTool({
      name: "aovift_simulate",
      command: "simulate",
      description:
        "Simulate an AOViFT dataset: random Zernike aberrations (15 ANSI modes, um RMS), widefield 3D PSFs, 1-5 beads, camera noise, and the Fourier embedding the ViT reads. Deterministic from the seed.",
      schema: SimulateInputSchema,
      paths: ["out"],
      summary: (result, input) =>
        `Simulated ${result.samples} volumes (size ${result.size}, mean ${(result.initial_pv_waves as { mean: number }).mean.toFixed(2)} waves P-V) into ${input.out}.`,
    }),
    pipelineTool({
      name: "aovift_train",
      command: "train",
      description:
        "Train the Fourier-embedding multistage ViT (vit-*) or the real-space 3D CNN baseline (cnn-*) to predict Zernike coefficients from a simulated dataset; saves a checkpoint and reports parameters, FLOPs and validation error.",
      schema: TrainInputSchema,
      paths: ["data", "validation", "out"],
      rename: { modelConfig: "config" },
      summary(result, input) {
        const validation = result.validation as { residual_pv_waves: { mean: number } } | undefined;
        const accuracy = validation ? `, validation residual ${validation.residual_pv_waves.mean.toFixed(3)} waves P-V` : "";
        return `Trained ${result.model} (${result.parameters} parameters) in ${Number(result.seconds).toFixed(0)} s${accuracy}; checkpoint ${input.out}.`;
      },
    }),
    pipelineTool({
      name: "aovift_predict",
      command: "predict",
      description: "Predict the aberration (15 Zernike coefficients in um RMS) of simulated volumes with a trained checkpoint; optionally evaluate accuracy over the dataset.",
      schema: PredictInputSchema,
      paths: ["checkpoint", "data"],
      summary(result) {
        const evaluation = result.evaluation as { residual_pv_waves: { mean: number; fraction_below_0_25: number } } | undefined;
        const accuracy = evaluation
          ? ` Over the dataset: residual ${evaluation.residual_pv_waves.mean.toFixed(3)} waves P-V, ${(100 * evaluation.residual_pv_waves.fraction_below_0_25).toFixed(0)}% at or below 0.25 waves.`
          : "";
        return `Predicted Zernike coefficients (um RMS) with ${result.model}.${accuracy}`;
      },
    }),
    pipelineTool({
      name: "aovift_correct",
      command: "correct",
      description:
        "Simulate closed-loop adaptive-optics correction: image aberrated beads, predict with the checkpoint, apply the negative prediction on a deformable mirror, repeat; reports the residual peak-to-valley per iteration.",
      schema: CorrectInputSchema,
      paths: ["checkpoint"],
      summary(result) {
        const rounds = result.iterations as { iteration: number; pv_waves: { median: number } }[];
        return `Closed-loop correction, median residual waves P-V per iteration: ${rounds.map((round) => `${round.iteration}: ${round.pv_waves.median.toFixed(3)}`).join(", ")}.`;
      },
    }),
    pipelineTool({
      name: "aovift_profile",
      command: "profile",
      description:
        "Profile the AOViFT embedding and ViT forward with torch.profiler (time per region and operator) and write kernel specs of the hot operators (3D FFT, patch embedding, attention, MLP block) that kernelevolve optimize accepts.",
      schema: ProfileInputSchema,
      paths: ["outDir", "checkpoint"],
      enrich(result, input, { options, inside }) {
        const operators = result.operators as ProfiledOperator[];
        const seeded = options.seedsRoot ? writeSeededSpecs(operators, { seedsRoot: options.seedsRoot, outDir: inside(input.outDir, "outDir") }) : [];
        return { ...result, seeded_specs: seeded };
      },
      summary(result, input) {
        const seeded = result.seeded_specs as ReturnType<typeof writeSeededSpecs>;
        const hot = (result.hot_specs as { id: string; share: number }[]).map((item) => `${item.id} ${(item.share * 100).toFixed(0)}%`).join(", ");
        const seededText = seeded.length
          ? ` Hot operators with seed kernels: ${seeded.map((spec) => `${spec.operator} -> ${spec.id} (${spec.selfMs} ms)`).join(", ")}; optimise offline with: kernelevolve optimize ${seeded[0].id} --specs-dir ${input.outDir}.`
          : "";
        return `Profiled ${result.model}; ${measuredText(result)} Wrote ${(result.spec_paths as string[]).length} kernel specs for the regions measured hottest (${hot}).${seededText}`;
      },
    }),
    swapTool("aovift", ["aovift.max_pool3d", "aovift.neumann_poisson"]),
  ],
};

/**
 * Builds the AOViFT pipeline tools (`aovift_simulate`, `aovift_train`, `aovift_predict`, `aovift_correct`,
 * `aovift_profile`) that run `python -m pipelines.aovift` inside `workDirectory`.
 * @example const tools = createAoviftTools({ python: ".venv/bin/python", pythonPath: "python", workDirectory: "runs/aovift" });
 */
export function createAoviftTools(options: AoviftToolOptions): StructuredToolInterface[] {
  return createPipelineTools(AOVIFT_PIPELINE, options);
}
