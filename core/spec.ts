import { z } from "zod";
import { evaluateShapeExpression, shapeExpressionIdentifiers } from "./shape-expression.js";

/** Element types a kernel may read or write. */
export const DtypeSchema = z
  .enum(["float32", "float64", "float16", "bfloat16", "int32", "int64", "uint8", "bool"])
  .describe("Element type of the tensor");
export type Dtype = z.infer<typeof DtypeSchema>;

const dimension = z
  .union([z.number().int().positive(), z.string().min(1)])
  .describe("A positive integer or an expression over the spec's dimensions, e.g. 'B', 'B+1', 'H*D'");

const numberOrExpression = z
  .union([z.number(), z.string().min(1)])
  .describe("A number or an expression over the spec's dimensions");

/** How the values of one input tensor are generated for each trial. */
export const InitSchema = z
  .discriminatedUnion("kind", [
    z.object({
      kind: z.literal("normal"),
      mean: z.number().default(0).describe("Mean of the normal distribution"),
      std: z.number().positive().default(1).describe("Standard deviation of the normal distribution"),
    }),
    z.object({
      kind: z.literal("uniform"),
      low: z.number().default(0).describe("Inclusive lower bound"),
      high: z.number().default(1).describe("Exclusive upper bound"),
    }),
    z.object({
      kind: z.literal("integers"),
      low: numberOrExpression.default(0).describe("Inclusive lower bound (number or dimension expression)"),
      high: numberOrExpression.describe("Exclusive upper bound (number or dimension expression), e.g. 'V'"),
    }),
    z.object({
      kind: z.literal("offsets"),
      total: numberOrExpression.describe(
        "Value of the last offset: the total length of the jagged data (e.g. 'N'); offsets start at 0, are sorted and may repeat (empty segments)",
      ),
    }),
    z.object({
      kind: z.literal("binary"),
      probability: z.number().min(0).max(1).default(0.5).describe("Probability of a 1"),
    }),
    z.object({
      kind: z.literal("constant"),
      value: z.number().describe("Every element takes this value"),
    }),
  ])
  .describe("How values are generated: normal, uniform, integers, offsets (sorted, for jagged data), binary or constant");
export type InitDescriptor = z.infer<typeof InitSchema>;

export const TensorSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z_][a-z0-9_]*$/, "a lower-case identifier such as 'x' or 'offsets'")
      .describe("Argument name, used by the reference and in the kernel ABI"),
    dtype: DtypeSchema,
    shape: z.array(dimension).describe("Symbolic shape, outermost first; [] is a scalar tensor"),
    init: InitSchema.optional().describe("Value generator (inputs only); defaults to normal(0, 1) for floats"),
    description: z.string().optional().describe("What this tensor holds"),
  })
  .strict();
export type TensorSpec = z.infer<typeof TensorSchema>;

export const ToleranceSchema = z
  .object({
    atol: z.number().nonnegative().describe("Absolute tolerance"),
    rtol: z.number().nonnegative().describe("Relative tolerance"),
  })
  .strict();
export type Tolerance = z.infer<typeof ToleranceSchema>;

/** Default tolerances per dtype, used where a spec names none. */
export const DEFAULT_TOLERANCES: Record<string, Tolerance> = {
  float64: { atol: 1e-8, rtol: 1e-7 },
  float32: { atol: 1e-4, rtol: 1e-4 },
  float16: { atol: 1e-2, rtol: 1e-2 },
  bfloat16: { atol: 2e-2, rtol: 2e-2 },
  int32: { atol: 0, rtol: 0 },
  int64: { atol: 0, rtol: 0 },
  uint8: { atol: 0, rtol: 0 },
  bool: { atol: 0, rtol: 0 },
};

export const PlatformIdSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]*$/, "a kebab-case platform id such as 'cpu', 'cuda' or 'triton'")
  .describe("Platform id");

/** Where an imported KernelBench problem came from and how its sizes were scaled (python/kernelevolve_runtime/kernelbench). */
export const KernelBenchOriginSchema = z
  .object({
    level: z.number().int().nullable().describe("KernelBench level, or null for a plain folder of problems"),
    problem: z.number().int().nullable().describe("Problem number from the file name (19 for 19_ReLU.py), or null"),
    title: z.string().describe("Problem title from the file name"),
    file: z.string().describe("Problem file name"),
    module: z.string().describe("The problem's source at the 'bench' size; the runtime runs its get_inputs() to make each trial's inputs"),
    initSeed: z.number().int().describe("torch seed under which both Model and ModelNew are built, so equal layers get equal weights"),
    structural: z.array(z.string()).describe("Constants that shape the weights (read by get_init_inputs or Model); equal in every size"),
    fullSize: z.record(z.number().int()).describe("The constants as written in the problem file"),
    scaled: z.boolean().describe("True when the 'bench' size is smaller than the file's own size"),
    factors: z.record(z.number()).describe("Per scaled constant: full value / bench value"),
    footprint: z
      .record(z.object({ bytes: z.number().describe("Bytes of inputs, outputs and weights"), flops: z.number().describe("FLOPs counted on the meta device (0 for ops without a formula)") }))
      .describe("Estimated footprint at 'full', 'bench' and 'small'"),
  })
  .describe("KernelBench origin of an imported spec");
export type KernelBenchOrigin = z.infer<typeof KernelBenchOriginSchema>;

export const KernelSpecSchema = z
  .object({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/, "a kebab-case id such as 'embedding-bag-sum'")
      .describe("Unique kebab-case id of the spec"),
    description: z.string().min(1).describe("What the kernel computes, in a sentence or two"),
    category: z
      .string()
      .min(1)
      .describe("Kind of operation: embedding, interaction, linear, normalization, activation, loss, reduction, layout, attention, fft, ..."),
    source: z.string().optional().describe("Where the spec came from (seed, a pipeline profile, a KernelBench file)"),
    dimensions: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an identifier"))
      .min(0)
      .describe("Names of the symbolic dimensions, in the order kernels receive them"),
    scalars: z
      .record(z.number())
      .default({})
      .describe("Named constants (e.g. eps) passed to the reference as keyword arguments and to kernels after the dimensions"),
    inputs: z.array(TensorSchema).min(1).describe("Input tensors, in argument order"),
    outputs: z.array(TensorSchema.omit({ init: true })).min(1).describe("Output tensors, in argument order"),
    reference: z
      .string()
      .min(1)
      .describe("Python source defining `reference(<inputs...>, **scalars)` in PyTorch; returns a tensor or a tuple of tensors in output order"),
    sizes: z
      .record(z.record(z.number().int().positive()))
      .describe("Named problem sizes: each maps every dimension to an integer. At least two; the first is the smallest, used by tests"),
    representativeSizes: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe("Sizes the speed-up is judged at (what users run); the others are checked for correctness only. Default: the largest size"),
    raggedSize: z
      .union([z.boolean(), z.record(z.number().int().positive())])
      .optional()
      .describe(
        "The correctness-only size every evaluation adds, with extents that are multiples of none of 8, 16, 64 (generated from the largest size by default); false turns it off, an object gives the dimensions",
      ),
    tolerances: z.record(ToleranceSchema).default({}).describe("Tolerances per output dtype; missing dtypes use the defaults"),
    targets: z.array(PlatformIdSchema).min(1).default(["cpu"]).describe("Platforms this spec may be evaluated on"),
    constraints: z
      .object({
        forbiddenCalls: z
          .array(z.string())
          .default([])
          .describe("Substrings a candidate's source must not contain, e.g. 'torch.' or 'cblas_'"),
        notes: z.string().optional().describe("Free-text constraints given to the model"),
        customKernelsOnly: z
          .boolean()
          .optional()
          .describe("Candidates must compute with their own kernels: library compute (torch ops, nn layers, BLAS, ATen) is rejected by the library_compute static check"),
      })
      .strict()
      .default({ forbiddenCalls: [] })
      .describe("Optional constraints on candidates"),
    initInputs: z
      .array(z.unknown())
      .optional()
      .describe("Constructor arguments of a python candidate's ModelNew (KernelBench's get_init_inputs()), as JSON values"),
    kernelbench: KernelBenchOriginSchema.optional().describe("Set on specs imported from a KernelBench-format problem file"),
    cost: z
      .object({
        flops: z.string().optional().describe("Floating-point operations per call, as an expression over the dimensions"),
        bytes: z.string().optional().describe("Minimum bytes moved per call, as an expression over the dimensions"),
      })
      .strict()
      .optional()
      .describe("Work per call, so a timing reads as a fraction of the hardware's limits"),
  })
  .strict()
  .superRefine((spec, context) => {
    const known = new Set(spec.dimensions);
    const names = new Set<string>();
    const checkExpression = (value: unknown, path: (string | number)[]) => {
      if (typeof value !== "string") return;
      let identifiers: string[];
      try {
        identifiers = shapeExpressionIdentifiers(value);
      } catch (error) {
        context.addIssue({ code: z.ZodIssueCode.custom, path, message: (error as Error).message });
        return;
      }
      for (const identifier of identifiers) {
        if (!known.has(identifier)) {
          context.addIssue({
            code: z.ZodIssueCode.custom,
            path,
            message: `unknown dimension '${identifier}'; declared dimensions: ${[...known].join(", ") || "(none)"}`,
          });
        }
      }
    };
    [...spec.inputs, ...spec.outputs].forEach((tensor, index) => {
      const group = index < spec.inputs.length ? "inputs" : "outputs";
      const position = index < spec.inputs.length ? index : index - spec.inputs.length;
      if (names.has(tensor.name)) {
        context.addIssue({ code: z.ZodIssueCode.custom, path: [group, position, "name"], message: `duplicate tensor name '${tensor.name}'` });
      }
      names.add(tensor.name);
      tensor.shape.forEach((dim, dimIndex) => checkExpression(dim, [group, position, "shape", dimIndex]));
      const init = (tensor as TensorSpec).init;
      if (init?.kind === "integers") {
        checkExpression(init.low, [group, position, "init", "low"]);
        checkExpression(init.high, [group, position, "init", "high"]);
      }
      if (init?.kind === "offsets") checkExpression(init.total, [group, position, "init", "total"]);
    });
    const sizeNames = Object.keys(spec.sizes);
    if (sizeNames.length < 2) {
      context.addIssue({ code: z.ZodIssueCode.custom, path: ["sizes"], message: "at least two named sizes are required (the first, small, is used by tests)" });
    }
    for (const sizeName of sizeNames) {
      const size = spec.sizes[sizeName];
      for (const dimension of spec.dimensions) {
        if (!(dimension in size)) {
          context.addIssue({ code: z.ZodIssueCode.custom, path: ["sizes", sizeName], message: `missing dimension '${dimension}'` });
        }
      }
      for (const key of Object.keys(size)) {
        if (!known.has(key)) {
          context.addIssue({ code: z.ZodIssueCode.custom, path: ["sizes", sizeName, key], message: `'${key}' is not a declared dimension` });
        }
      }
    }
    // Every extent resolves at every size, to a non-negative number (the Python runtime resolves them before any compile).
    [...spec.inputs, ...spec.outputs].forEach((tensor, index) => {
      const group = index < spec.inputs.length ? "inputs" : "outputs";
      const position = index < spec.inputs.length ? index : index - spec.inputs.length;
      tensor.shape.forEach((dim, dimIndex) => {
        if (typeof dim !== "string") return;
        let identifiers: string[];
        try {
          identifiers = shapeExpressionIdentifiers(dim);
        } catch {
          return; // reported above
        }
        if (identifiers.some((identifier) => !known.has(identifier))) return;
        for (const sizeName of sizeNames) {
          const size = spec.sizes[sizeName];
          if (identifiers.some((identifier) => !(identifier in size))) continue;
          let extent: number;
          try {
            extent = evaluateShapeExpression(dim, size);
          } catch (error) {
            context.addIssue({ code: z.ZodIssueCode.custom, path: [group, position, "shape", dimIndex], message: `${(error as Error).message} at size '${sizeName}'` });
            return;
          }
          if (extent < 0) {
            context.addIssue({ code: z.ZodIssueCode.custom, path: [group, position, "shape", dimIndex], message: `negative extent ${extent} at size '${sizeName}'` });
            return;
          }
        }
      });
    });
    spec.representativeSizes?.forEach((name, index) => {
      if (!(name in spec.sizes) || name === "ragged") {
        context.addIssue({ code: z.ZodIssueCode.custom, path: ["representativeSizes", index], message: `'${name}' is not one of the spec's sizes (${sizeNames.join(", ")})` });
      }
    });
    if (spec.raggedSize && typeof spec.raggedSize === "object") {
      for (const dimension of spec.dimensions) {
        if (!(dimension in spec.raggedSize)) context.addIssue({ code: z.ZodIssueCode.custom, path: ["raggedSize"], message: `missing dimension '${dimension}'` });
      }
    }
    if (spec.cost?.flops) checkExpression(spec.cost.flops, ["cost", "flops"]);
    if (spec.cost?.bytes) checkExpression(spec.cost.bytes, ["cost", "bytes"]);
    if (!/\bdef\s+reference\s*\(/.test(spec.reference)) {
      context.addIssue({ code: z.ZodIssueCode.custom, path: ["reference"], message: "must define a Python function `reference(...)`" });
    }
  });

/** A kernel specification after validation and defaults. */
export type KernelSpec = z.infer<typeof KernelSpecSchema>;
/** A kernel specification as written in a file, before defaults. */
export type KernelSpecInput = z.input<typeof KernelSpecSchema>;

/** Resolves every dimension of a tensor's shape for one named size. */
export function resolveShape(shape: (number | string)[], dims: Record<string, number>): number[] {
  return shape.map((dimension) => (typeof dimension === "number" ? dimension : evaluateShapeExpression(dimension, dims)));
}

/** The first size of a spec: the smallest, used by tests and quick checks. */
export function smallestSize(spec: KernelSpec): string {
  return Object.keys(spec.sizes)[0];
}

/** Bytes and FLOPs of one call at a size, where the spec declares them. */
export function specCost(spec: KernelSpec, size: string): { flops?: number; bytes?: number } {
  const dims = spec.sizes[size];
  return {
    flops: spec.cost?.flops ? evaluateShapeExpression(spec.cost.flops, dims) : undefined,
    bytes: spec.cost?.bytes ? evaluateShapeExpression(spec.cost.bytes, dims) : undefined,
  };
}
