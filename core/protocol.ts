import { z } from "zod";

/**
 * The JSON-lines protocol between Node and the Python runtime (python/kernelevolve_runtime).
 * One request per line on the runtime's stdin, one response per line on its stdout; events
 * (progress) may interleave. The Python side validates the same shapes (protocol.py); docs/protocol.md
 * describes them for people. Bump PROTOCOL_VERSION on any incompatible change.
 */
export const PROTOCOL_VERSION = 1;

/** The language a candidate's source is written in. */
export const LanguageSchema = z
  .enum(["cpp", "cuda", "triton", "python"])
  .describe("cpp: C++17 with the C ABI; cuda: CUDA C++; triton: Python with @triton.jit; python: a KernelBench ModelNew module");
export type Language = z.infer<typeof LanguageSchema>;

export const CandidateSourceSchema = z
  .object({
    language: LanguageSchema,
    source: z.string().min(1).describe("The whole source file of the candidate"),
    compileFlags: z.array(z.string()).default([]).describe("Extra compiler flags (cpp, cuda)"),
  })
  .strict();
export type CandidateSource = z.input<typeof CandidateSourceSchema>;

export const EvaluationOptionsSchema = z
  .object({
    sizes: z.array(z.string()).optional().describe("Size names to evaluate; default: every size of the spec"),
    trials: z.number().int().min(1).default(3).describe("Correctness trials per size, each with fresh inputs from its own seed"),
    seed: z.number().int().default(0).describe("Base seed for input generation"),
    timing: z.boolean().default(true).describe("Time the candidate and the reference after correctness passes"),
    warmup: z.number().int().min(0).default(3).describe("Untimed calls before timing"),
    minTimeMs: z.number().positive().default(200).describe("Keep repeating until this much time was measured"),
    minRepetitions: z.number().int().min(1).default(5).describe("Fewest timed repetitions"),
    maxRepetitions: z.number().int().min(1).default(1000).describe("Most timed repetitions"),
    threads: z.number().int().min(1).optional().describe("Threads for the candidate (OpenMP) and the reference (torch); default: all cores"),
    timeLimitSeconds: z.number().positive().default(60).describe("Wall-time limit of the candidate's process"),
    compileTimeLimitSeconds: z.number().positive().default(120).describe("Wall-time limit of the compiler"),
    memoryLimitMb: z.number().int().positive().default(8192).describe("Address-space limit of the candidate's process (ignored on GPUs)"),
    speedupThreshold: z.number().positive().default(10).describe("Speed-ups above this are re-verified on new inputs and flagged"),
    staticChecks: z
      .record(z.enum(["strict", "warn", "off"]))
      .default({})
      .describe("Per static check: strict (reject), warn (record), off; unnamed checks use their default"),
    compareTorchCompile: z.boolean().default(false).describe("Also time torch.compile of the reference"),
  })
  .strict();
export type EvaluationOptions = z.input<typeof EvaluationOptionsSchema>;

/** Why a candidate failed; stable codes the operator's prompts and tests branch on. */
export const FailureReasonSchema = z.enum([
  "static_check", // a static check in strict mode rejected the source
  "forbidden_call", // the spec's constraints.forbiddenCalls matched
  "compile_error",
  "compile_timeout",
  "missing_entry", // no `kernel` symbol / no ModelNew class
  "wrong_output", // values outside tolerance
  "wrong_shape",
  "wrong_dtype",
  "wrong_device",
  "nan_or_inf",
  "input_modified",
  "output_alias",
  "stale_result", // answer does not change with the inputs / reused an earlier result
  "unwritten_output", // output elements still hold the runtime's random canary (a call skipped or deferred its work)
  "hidden_work", // a thread was still alive after a timed block's calls returned
  "forged_answer", // the candidate wrote to the runtime's answer channel itself
  "precision_downgrade", // error far above the fp32 reference's own error against float64
  "timeout",
  "memory_limit",
  "crash", // signal or non-zero exit of the candidate's process
  "suspicious_timing", // a timing above the roofline after re-verification
  "unsupported_platform",
  "runtime_error", // an exception raised by the candidate's Python code
]);
export type FailureReason = z.infer<typeof FailureReasonSchema>;

const TimingStatsSchema = z.object({
  medianMs: z.number(),
  minMs: z.number(),
  p90Ms: z.number(),
  meanMs: z.number(),
  stdMs: z.number(),
  repetitions: z.number().int(),
});
export type TimingStats = z.infer<typeof TimingStatsSchema>;

export const SizeTimingSchema = z.object({
  size: z.string(),
  candidate: TimingStatsSchema,
  reference: TimingStatsSchema,
  torchCompile: TimingStatsSchema.optional(),
  speedup: z.number().describe("reference median / candidate median"),
  achievedBandwidthGBs: z.number().optional(),
  achievedTflops: z.number().optional(),
});
export type SizeTiming = z.infer<typeof SizeTimingSchema>;

export const TrialResultSchema = z.object({
  size: z.string(),
  seed: z.number().int(),
  passed: z.boolean(),
  maxAbsError: z.number().nullable(),
  maxRelError: z.number().nullable(),
  /** Candidate error relative to output magnitude, divided by the fp32 reference's own error against float64. */
  errorRatioVsFp32: z.number().nullable().optional(),
  reason: FailureReasonSchema.optional(),
});

export const MismatchSchema = z.object({
  size: z.string(),
  output: z.string(),
  mismatched: z.number().int(),
  total: z.number().int(),
  firstIndex: z.array(z.number().int()).describe("Multi-index of the first mismatching element"),
  expected: z.number().nullable(),
  actual: z.number().nullable(),
  maxAbsError: z.number().nullable(),
});
export type Mismatch = z.infer<typeof MismatchSchema>;

export const StaticFindingSchema = z.object({
  check: z.string(),
  severity: z.enum(["strict", "warn"]),
  message: z.string(),
  line: z.number().int().optional(),
});
export type StaticFinding = z.infer<typeof StaticFindingSchema>;

export const EvaluationResultSchema = z.object({
  status: z.enum(["passed", "failed"]),
  stage: z.enum(["static", "compile", "correctness", "timing", "done"]).describe("The stage it failed in, or done"),
  reason: FailureReasonSchema.optional(),
  message: z.string().describe("One readable line"),
  log: z.string().default("").describe("Truncated compiler output, traceback or stderr, for the next prompt"),
  platform: z.string(),
  compile: z
    .object({ cached: z.boolean(), seconds: z.number(), command: z.string().optional(), compiler: z.string().optional() })
    .optional(),
  staticFindings: z.array(StaticFindingSchema).default([]),
  trials: z.array(TrialResultSchema).default([]),
  mismatch: MismatchSchema.optional(),
  timings: z.array(SizeTimingSchema).default([]),
  speedup: z.number().optional().describe("Geometric mean of per-size speed-ups"),
  flags: z.array(z.string()).default([]).describe("e.g. 'reverified', 'above-roofline', 'scaled'"),
  durations: z
    .object({
      static: z.number(),
      compile: z.number(),
      correctness: z.number(),
      timing: z.number(),
      overhead: z.number(),
      total: z.number(),
    })
    .partial()
    .default({}),
});
export type EvaluationResult = z.infer<typeof EvaluationResultSchema>;

export const HardwareProfileSchema = z.object({
  platform: z.string(),
  device: z.string().describe("Human-readable device name"),
  cores: z.number().int().optional(),
  threads: z.number().int().optional(),
  simd: z.array(z.string()).optional().describe("e.g. avx2, avx512f, fma"),
  caches: z.record(z.string()).optional().describe("e.g. { L1d: '48K', L2: '2M', L3: '32M' }"),
  memoryGb: z.number().optional(),
  smCount: z.number().int().optional(),
  computeCapability: z.string().optional(),
  l2Bytes: z.number().optional(),
  copyBandwidthGBs: z.number().optional().describe("Measured device-to-device (or memcpy) bandwidth"),
  peakTflops: z.record(z.number()).optional(),
  compiler: z.string().optional(),
  notes: z.array(z.string()).default([]),
});
export type HardwareProfile = z.infer<typeof HardwareProfileSchema>;

export const HelloResultSchema = z.object({
  protocol: z.number().int(),
  runtimeVersion: z.string(),
  python: z.string(),
  torch: z.string().nullable(),
  triton: z.string().nullable(),
  platforms: z.array(
    z.object({ id: z.string(), available: z.boolean(), reason: z.string().optional(), capacity: z.number().int().min(1) }),
  ),
  sandbox: z
    .object({ network: z.boolean(), pidNamespace: z.boolean(), dropUser: z.boolean(), syscallFilter: z.boolean(), privateTemp: z.boolean() })
    .describe("Which isolation mechanisms are active"),
});
export type HelloResult = z.infer<typeof HelloResultSchema>;

/** Requests Node sends; `spec` is the validated spec as JSON (defaults applied). */
export const RuntimeRequestSchema = z.discriminatedUnion("method", [
  z.object({ id: z.string(), method: z.literal("hello"), params: z.object({}).default({}) }),
  z.object({
    id: z.string(),
    method: z.literal("evaluate"),
    params: z.object({
      spec: z.record(z.unknown()),
      platform: z.string(),
      candidate: CandidateSourceSchema,
      options: EvaluationOptionsSchema.default({}),
      cacheDir: z.string().optional().describe("Compile cache folder; default: the runtime's own (.cache/compile)"),
    }),
  }),
  z.object({
    id: z.string(),
    method: z.literal("time_reference"),
    params: z.object({
      spec: z.record(z.unknown()),
      platform: z.string(),
      options: EvaluationOptionsSchema.default({}),
      cacheDir: z.string().optional().describe("Compile cache folder; default: the runtime's own (.cache/compile)"),
    }),
  }),
  z.object({ id: z.string(), method: z.literal("hardware_profile"), params: z.object({ platform: z.string() }) }),
  z.object({ id: z.string(), method: z.literal("shutdown"), params: z.object({}).default({}) }),
]);
export type RuntimeRequest = z.input<typeof RuntimeRequestSchema>;

export const TimeReferenceResultSchema = z.object({
  timings: z.array(
    z.object({ size: z.string(), reference: TimingStatsSchema, torchCompile: TimingStatsSchema.optional(), error: z.string().optional() }),
  ),
});
export type TimeReferenceResult = z.infer<typeof TimeReferenceResultSchema>;

export const RuntimeResponseSchema = z.union([
  z.object({ id: z.string(), ok: z.literal(true), result: z.unknown() }),
  z.object({
    id: z.string().nullable(),
    ok: z.literal(false),
    error: z.object({ code: z.string(), message: z.string() }),
  }),
  z.object({ event: z.string(), id: z.string().optional(), data: z.record(z.unknown()).default({}) }),
]);
export type RuntimeResponse = z.infer<typeof RuntimeResponseSchema>;
