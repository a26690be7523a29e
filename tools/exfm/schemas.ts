import { z } from "zod";

/**
 * Argument schemas of the ExFM tools. Field names are camelCase here and snake_case in Python
 * (python/pipelines/exfm/config.py), which validates them again; defaults left out here are Python's.
 */

const relativePath = (what: string) =>
  z.string().min(1).describe(`${what}: a path inside the tools' work directory (relative paths are resolved there)`);

export const ModelSchema = z
  .object({
    embeddingDim: z.number().int().min(1).max(1024).optional().describe("Embedding width of every sparse feature (VM default 8, FM default 32)"),
    bottomMlp: z.array(z.number().int().min(1).max(8192)).max(8).optional().describe("Hidden widths of the dense (bottom) MLP; its output width is embeddingDim"),
    topMlp: z.array(z.number().int().min(1).max(8192)).max(8).optional().describe("Hidden widths of the top MLP above the interaction (VM default [32], FM default [256, 128])"),
    crossLayers: z.number().int().min(0).max(8).optional().describe("Number of DCNv2 cross layers after the pairwise-dot interaction"),
    crossRank: z.number().int().min(0).max(4096).optional().describe("0 for full-rank cross layers, else the rank of the U·V factorisation"),
    pooling: z.enum(["sum", "mean"]).optional().describe("How each embedding bag pools its jagged ids"),
  })
  .strict()
  .describe("DLRM architecture: embedding bags, bottom MLP, dot + DCNv2 interaction, top MLP");

export const GenerateDataSchema = z
  .object({
    output: relativePath("Folder for the dataset (data.pt, meta.json)").default("data"),
    seed: z.number().int().min(0).default(0).describe("Random seed; the same seed gives the same stream"),
    domains: z.number().int().min(1).max(32).optional().describe("Number of verticals (default 3)"),
    windows: z.number().int().min(2).max(200).optional().describe("Number of time windows (default 8)"),
    examplesPerWindow: z.number().int().min(10).max(1_000_000).optional().describe("Examples per domain and window (default 2000)"),
    users: z.number().int().min(1).optional().describe("Active users at any time (default 3000)"),
    adsPerDomain: z.number().int().min(1).optional().describe("Active ads per domain at any time (default 300)"),
    categories: z.number().int().min(1).optional().describe("Ad categories, also the vocabulary of the multi-hot user history (default 24)"),
    churn: z.number().min(0).max(0.99).optional().describe("Fraction of active users and ads replaced by new ids each window (default 0.1)"),
    drift: z.number().min(0).max(3.2).optional().describe("Radians per window that the shared user-ad preference rotates (default 0.25)"),
    ctrDrift: z.number().min(0).max(2).optional().describe("Std of each domain's per-window random walk of its base logit (default 0.15)"),
    domainShift: z.number().min(0).max(5).optional().describe("Strength of each domain's own preference term (default 1)"),
  })
  .strict();

export const TrainFoundationSchema = z
  .object({
    data: relativePath("Dataset folder from exfm_generate_data").default("data"),
    output: relativePath("Folder for the FM checkpoint (fm.pt) and DAS files (das_k<k>.pt)").default("fm"),
    model: ModelSchema.optional(),
    historyWindows: z.number().int().min(1).optional().describe("Windows the FM trains on before the VMs start (default 2); VMs use startWindow >= this"),
    historyEpochs: z.number().int().min(1).max(20).optional().describe("Passes over the history windows (default 2)"),
    learningRate: z.number().positive().max(1).optional().describe("Adam learning rate (default 0.003)"),
    batchSize: z.number().int().min(1).max(65536).optional().describe("Minibatch size (default 256)"),
    staleness: z.array(z.number().int().min(1).max(50)).min(1).max(8).default([1]).describe("Refresh periods k to publish DAS files for: the FM serving window t was trained only through its last refresh"),
    domainWeights: z
      .record(z.string().regex(/^\d+$/, "a domain number such as '0'"), z.number().min(0).max(1))
      .optional()
      .describe("Keep-fraction of each domain's examples in the FM's training data, e.g. {'0': 0.05} to bias the FM against domain 0"),
    seed: z.number().int().min(0).optional().describe("Seed of initialisation and shuffling (default 0)"),
  })
  .strict();

export const VariantSchema = z
  .enum(["plain", "distilled", "auxiliary", "adapter"])
  .describe("plain: labels only; distilled: + FM soft targets on the serving head; auxiliary: FM targets on a separate head; adapter: auxiliary + a student adapter recalibrating the FM on fresh labels");

export const TrainVerticalSchema = z
  .object({
    data: relativePath("Dataset folder from exfm_generate_data").default("data"),
    das: relativePath("DAS file from exfm_train_foundation (its 'das' map), required unless variant is plain").optional(),
    output: relativePath("File for the VM checkpoint, e.g. 'vm/adapter-d0.pt'").optional(),
    domain: z.number().int().min(0).default(0).describe("Which vertical (domain) this VM serves"),
    variant: VariantSchema.default("plain"),
    model: ModelSchema.optional(),
    startWindow: z.number().int().min(1).optional().describe("First window the VM trains on (default 2, must be >= the FM's historyWindows)"),
    learningRate: z.number().positive().max(1).optional().describe("AdamW learning rate (default 0.01)"),
    batchSize: z.number().int().min(1).max(65536).optional().describe("Minibatch size (default 64)"),
    epochsPerWindow: z.number().int().min(1).max(20).optional().describe("Passes over each window before moving on (default 1: one pass, as in a stream)"),
    distillWeight: z.number().min(0).max(100).optional().describe("Weight of the FM soft-target term (default 1)"),
    adapterWeight: z.number().min(0).max(100).optional().describe("Weight of the student adapter's label term (default 1)"),
    seed: z.number().int().min(0).optional().describe("Seed of initialisation and shuffling (default 0)"),
  })
  .strict();

export const EvaluateSchema = z
  .object({
    data: relativePath("Dataset folder from exfm_generate_data").default("data"),
    models: z.array(relativePath("Checkpoint (fm.pt or a VM's output)")).default([]).describe("Checkpoints to score with their serving head"),
    das: z.array(relativePath("DAS file")).default([]).describe("DAS files to score: the FM's predictions as served to the VMs"),
    baseline: relativePath("One of models or das; relative NE gains are computed against it").optional(),
    domain: z.number().int().min(0).optional().describe("Score only this domain (default: all)"),
    windows: z.array(z.number().int().min(0)).default([]).describe("Windows to score (default: every window all sources cover)"),
  })
  .strict();

export const ProfileSchema = z
  .object({
    target: z.enum(["vm", "fm"]).default("vm").describe("Profile a vertical-model or a foundation-model training step"),
    variant: VariantSchema.default("adapter").describe("VM variant (adapter runs every loss term); ignored for the FM"),
    model: ModelSchema.optional(),
    batchSize: z.number().int().min(2).max(65536).default(512).describe("Examples per profiled step; also the 'profiled' size of the specs"),
    steps: z.number().int().min(1).max(50).default(5).describe("Profiled training steps"),
    warmup: z.number().int().min(0).max(20).default(2).describe("Unprofiled steps first"),
    top: z.number().int().min(1).max(50).default(12).describe("How many operators to list"),
    output: relativePath("Folder for the kernel spec YAML files").default("specs"),
    topOperators: z.number().int().min(1).max(40).default(6).describe("Write specs for this many of the operators measured hottest over a training and an inference step"),
    minOperatorShare: z.number().min(0).max(1).default(0.02).describe("Skip operators below this share of the measured operator time"),
  })
  .strict();
