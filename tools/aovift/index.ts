import { tool } from "@langchain/core/tools";
import {
  CorrectInputSchema,
  PredictInputSchema,
  ProfileInputSchema,
  SimulateInputSchema,
  TrainInputSchema,
} from "./schemas.js";
import { writeSeededSpecs, type ProfiledOperator } from "./seed-specs.js";
import { explainFailure, insideWorkDirectory, listIssues, runAovift, tolerant, type AoviftToolOptions, type PipelineResult } from "./run-pipeline.js";

export type { AoviftToolOptions } from "./run-pipeline.js";
export * from "./schemas.js";

type Invalid = { invalid: import("zod").ZodError };
const isInvalid = (value: unknown): value is Invalid => typeof value === "object" && value !== null && "invalid" in value;

/** Compact JSON of a pipeline result for the model (the `ok` flag and the command name are implied). */
function report(summary: string, result: PipelineResult): string {
  const { ok: _ok, command: _command, ...rest } = result;
  return `${summary}\n${JSON.stringify(rest)}`;
}

/**
 * Builds the AOViFT pipeline tools (`aovift_simulate`, `aovift_train`, `aovift_predict`, `aovift_correct`,
 * `aovift_profile`) that run `python -m pipelines.aovift` inside `workDirectory`.
 * @example const tools = createAoviftTools({ python: ".venv/bin/python", pythonPath: "python", workDirectory: "runs/aovift" });
 */
export function createAoviftTools(options: AoviftToolOptions) {
  const path = (value: string, field: string) => insideWorkDirectory(options.workDirectory, value, field);
  const guarded = <T>(name: string, body: (input: T) => Promise<string>) => async (input: T | Invalid): Promise<string> => {
    if (isInvalid(input)) return `${name}: invalid arguments: ${listIssues(input.invalid)}. Fix them and call ${name} again.`;
    try {
      return await body(input);
    } catch (error) {
      return explainFailure(name, error);
    }
  };

  const simulate = tool(
    guarded("aovift_simulate", async (input: import("./schemas.js").SimulateInput) => {
      const result = await runAovift("simulate", { ...input, out: path(input.out, "out") }, options);
      const pv = result.initial_pv_waves as { mean: number };
      return report(`Simulated ${result.samples} volumes (size ${result.size}, mean ${pv.mean.toFixed(2)} waves P-V) into ${input.out}.`, result);
    }),
    {
      name: "aovift_simulate",
      description:
        "Simulate an AOViFT dataset: random Zernike aberrations (15 ANSI modes, um RMS), widefield 3D PSFs, 1-5 beads, camera noise, and the Fourier embedding the ViT reads. Deterministic from the seed.",
      schema: tolerant(SimulateInputSchema),
    },
  );

  const train = tool(
    guarded("aovift_train", async (input: import("./schemas.js").TrainInput) => {
      const { modelConfig, ...rest } = input;
      const result = await runAovift("train", {
        ...rest, config: modelConfig, data: path(input.data, "data"), out: path(input.out, "out"),
        validation: input.validation ? path(input.validation, "validation") : undefined,
      }, options);
      const validation = result.validation as { residual_pv_waves: { mean: number } } | undefined;
      const accuracy = validation ? `, validation residual ${validation.residual_pv_waves.mean.toFixed(3)} waves P-V` : "";
      return report(`Trained ${result.model} (${result.parameters} parameters) in ${Number(result.seconds).toFixed(0)} s${accuracy}; checkpoint ${input.out}.`, result);
    }),
    {
      name: "aovift_train",
      description:
        "Train the Fourier-embedding multistage ViT (vit-*) or the real-space 3D CNN baseline (cnn-*) to predict Zernike coefficients from a simulated dataset; saves a checkpoint and reports parameters, FLOPs and validation error.",
      schema: tolerant(TrainInputSchema),
    },
  );

  const predict = tool(
    guarded("aovift_predict", async (input: import("./schemas.js").PredictInput) => {
      const result = await runAovift("predict", { ...input, checkpoint: path(input.checkpoint, "checkpoint"), data: path(input.data, "data") }, options);
      const evaluation = result.evaluation as { residual_pv_waves: { mean: number; fraction_below_0_25: number } } | undefined;
      const accuracy = evaluation
        ? ` Over the dataset: residual ${evaluation.residual_pv_waves.mean.toFixed(3)} waves P-V, ${(100 * evaluation.residual_pv_waves.fraction_below_0_25).toFixed(0)}% at or below 0.25 waves.`
        : "";
      return report(`Predicted Zernike coefficients (um RMS) with ${result.model}.${accuracy}`, result);
    }),
    {
      name: "aovift_predict",
      description: "Predict the aberration (15 Zernike coefficients in um RMS) of simulated volumes with a trained checkpoint; optionally evaluate accuracy over the dataset.",
      schema: tolerant(PredictInputSchema),
    },
  );

  const correct = tool(
    guarded("aovift_correct", async (input: import("./schemas.js").CorrectInput) => {
      const result = await runAovift("correct", { ...input, checkpoint: path(input.checkpoint, "checkpoint") }, options);
      const rounds = result.iterations as { iteration: number; pv_waves: { median: number; fraction_below_0_25: number } }[];
      const trace = rounds.map((round) => `${round.iteration}: ${round.pv_waves.median.toFixed(3)}`).join(", ");
      return report(`Closed-loop correction, median residual waves P-V per iteration: ${trace}.`, result);
    }),
    {
      name: "aovift_correct",
      description:
        "Simulate closed-loop adaptive-optics correction: image aberrated beads, predict with the checkpoint, apply the negative prediction on a deformable mirror, repeat; reports the residual peak-to-valley per iteration.",
      schema: tolerant(CorrectInputSchema),
    },
  );

  const profile = tool(
    guarded("aovift_profile", async (input: import("./schemas.js").ProfileInput) => {
      const result = await runAovift("profile", {
        ...input, outDir: path(input.outDir, "outDir"), checkpoint: input.checkpoint ? path(input.checkpoint, "checkpoint") : undefined,
      }, options);
      const paths = result.spec_paths as string[];
      const seeded = options.seedsRoot ? writeSeededSpecs(result.operators as ProfiledOperator[], { seedsRoot: options.seedsRoot, outDir: path(input.outDir, "outDir") }) : [];
      const hot = (result.hot_specs as { id: string; share: number }[]).map((item) => `${item.id} ${(item.share * 100).toFixed(0)}%`).join(", ");
      const seededText = seeded.length
        ? ` Hot operators with seed kernels: ${seeded.map((spec) => `${spec.operator} -> ${spec.id} (${spec.selfMs} ms)`).join(", ")}; optimise offline with: kernelevolve optimize ${seeded[0].id} --specs-dir ${input.outDir}.`
        : "";
      return report(`Profiled ${result.model}; wrote ${paths.length} kernel specs for the regions measured hottest (${hot}).${seededText}`, { ...result, seeded_specs: seeded });
    }),
    {
      name: "aovift_profile",
      description:
        "Profile the AOViFT embedding and ViT forward with torch.profiler (time per region and operator) and write kernel specs of the hot operators (3D FFT, patch embedding, attention, MLP block) that kernelevolve optimize accepts.",
      schema: tolerant(ProfileInputSchema),
    },
  );

  return [simulate, train, predict, correct, profile];
}
