import { z } from "zod";

/** Microscope optics and sampling; omitted fields take the AOViFT training defaults. */
export const MicroscopeSchema = z
  .object({
    wavelengthUm: z.number().positive().max(2).optional().describe("Emission wavelength in micrometres (default 0.510)"),
    numericalAperture: z.number().positive().max(1.5).optional().describe("Detection numerical aperture (default 1.0)"),
    refractiveIndex: z.number().min(1).max(2).optional().describe("Refractive index of the immersion medium (default 1.33)"),
    lateralVoxelUm: z.number().positive().optional().describe("Lateral voxel size in micrometres (default 0.125; must sample the OTF at Nyquist)"),
    axialVoxelUm: z.number().positive().optional().describe("Axial voxel size in micrometres (default 0.2)"),
    size: z.union([z.literal(16), z.literal(32), z.literal(64), z.literal(128)]).optional().describe("Voxels per side of the cubic volume: 16, 32 (CPU models), 64 (GPU models) or 128"),
  })
  .strict()
  .describe("Microscope parameters");

/** How aberrations, beads and camera noise are drawn. */
export const SimulationSchema = z
  .object({
    minRmsUm: z.number().min(0).max(1).optional().describe("Smallest total aberration, um RMS (default 0)"),
    maxRmsUm: z.number().min(0).max(1).optional().describe("Largest total aberration, um RMS (default 0.12, about 1-2 waves peak-to-valley)"),
    distributions: z.array(z.enum(["single", "powerlaw", "dirichlet", "bimodal"])).min(1).optional().describe("How the amplitude is spread over the 11 live Zernike modes"),
    minBeads: z.number().int().min(1).max(20).optional().describe("Fewest beads per volume (default 1)"),
    maxBeads: z.number().int().min(1).max(20).optional().describe("Most beads per volume (default 5)"),
    minPhotons: z.number().positive().optional().describe("Fewest photons per bead (default 5e4)"),
    maxPhotons: z.number().positive().optional().describe("Most photons per bead (default 2e5)"),
  })
  .strict()
  .describe("Simulation parameters");

const relativePath = (what: string) => z.string().min(1).describe(`${what}, relative to the work directory`);

export const SimulateInputSchema = z
  .object({
    out: relativePath("Where to write the dataset file (.pt)"),
    samples: z.number().int().min(1).max(200000).describe("Number of simulated volumes"),
    seed: z.number().int().min(0).default(0).describe("Random seed; the same seed gives the same dataset"),
    microscope: MicroscopeSchema.optional(),
    simulation: SimulationSchema.optional(),
  })
  .strict();

/** The model presets of python/pipelines/aovift/models.py PRESETS (a test keeps the two lists equal). */
export const AOVIFT_TRAIN_PRESETS = [
  "vit-tiny", "vit-small", "vit-gpu-t", "cnn-tiny", "cnn-small", "cnn-gpu-t",
  "cnn2d-tiny", "vit-tiny-volume", "vit-tiny-amplitude", "vit-tiny-single-stage", "vit-tiny-mean-head",
] as const;

export const TrainInputSchema = z
  .object({
    data: relativePath("Training dataset written by aovift_simulate"),
    validation: relativePath("Validation dataset written by aovift_simulate").optional(),
    out: relativePath("Where to write the checkpoint (.pt)"),
    preset: z
      .enum(AOVIFT_TRAIN_PRESETS)
      .default("vit-tiny")
      .describe(
        "Model: vit-* is the Fourier-embedding multistage ViT, cnn-* the real-space 3D CNN baseline of matched FLOPs, cnn2d-tiny a 2D CNN on the Fourier embedding; ablations: vit-tiny-volume (ViT on raw volumes), vit-tiny-amplitude (amplitude planes only), vit-tiny-single-stage, vit-tiny-mean-head (mean-pooled read-out); *-tiny/small need size 32 data, *-gpu-t size 64",
      ),
    modelConfig: z
      .record(z.unknown())
      .optional()
      .describe("Overrides of the preset's fields, e.g. {imageSize: 16, patches: [8, 4], blocks: [1, 1], heads: [2, 2]} for a ViT or {widths: [8, 16]} for a CNN"),
    epochs: z.number().int().min(1).max(1000).default(5).describe("Passes over the training set"),
    batch: z.number().int().min(1).max(8192).default(64).describe("Samples per optimiser step"),
    lr: z.number().positive().max(1).default(1e-3).describe("Peak learning rate (AdamW, warm-up then cosine)"),
    seed: z.number().int().min(0).default(0).describe("Seed of initialisation and batch order"),
  })
  .strict();

export const PredictInputSchema = z
  .object({
    checkpoint: relativePath("Checkpoint written by aovift_train"),
    data: relativePath("Dataset to predict on (written by aovift_simulate)"),
    limit: z.number().int().min(1).max(256).default(8).describe("How many samples to return predictions for"),
    evaluate: z.boolean().default(true).describe("Also report accuracy over the whole dataset: residual peak-to-valley in waves and per-mode error"),
  })
  .strict();

export const CorrectInputSchema = z
  .object({
    checkpoint: relativePath("Checkpoint written by aovift_train"),
    samples: z.number().int().min(1).max(4096).default(64).describe("Number of simulated aberrated samples to correct"),
    iterations: z.number().int().min(1).max(10).default(3).describe("Correction rounds: image, predict, apply the negative prediction on the deformable mirror"),
    gain: z.number().positive().max(1.5).default(1).describe("Fraction of the prediction applied per round"),
    mirrorMaxMode: z.number().int().min(0).default(14).describe("Highest ANSI mode the deformable mirror reproduces; higher modes stay (fitting error)"),
    mirrorCalibrationError: z.number().min(0).max(1).default(0).describe("Relative error (standard deviation) of each reproduced mode, fixed per mirror"),
    seed: z.number().int().min(0).default(1000).describe("Seed of the aberrations, beads and noise"),
    simulation: SimulationSchema.optional().describe("Overrides of the checkpoint's simulation, e.g. {minRmsUm: 0.05, maxRmsUm: 0.1}"),
  })
  .strict();

export const ProfileInputSchema = z
  .object({
    outDir: relativePath("Folder for the kernel specs (YAML)"),
    checkpoint: relativePath("ViT checkpoint to profile; omit to profile a freshly initialised preset").optional(),
    preset: z.enum(["vit-tiny", "vit-small", "vit-gpu-t"]).default("vit-tiny").describe("ViT preset when no checkpoint is given"),
    batch: z.number().int().min(1).max(1024).default(16).describe("Samples per profiled forward; also the 'profiled' size of the specs"),
    repeats: z.number().int().min(1).max(50).default(3).describe("Profiled repetitions"),
    maxSpecs: z.number().int().min(1).max(4).default(4).describe("Write pipeline specs for at most this many of the regions measured hottest"),
    minShare: z.number().min(0).max(1).default(0).describe("Skip regions below this share of the measured pipeline time"),
    topOperators: z.number().int().min(1).max(40).default(6).describe("Write specs for this many of the operators measured hottest over a training and an inference step"),
    minOperatorShare: z.number().min(0).max(1).default(0.02).describe("Skip operators below this share of the measured operator time"),
  })
  .strict();
