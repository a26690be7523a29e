import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, extname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { PlatformError, UserError } from "../../core/errors.js";
import type { EvaluationOptions, Language } from "../../core/protocol.js";
import type { Platform } from "../../core/types.js";
import type { CliContext } from "../context.js";
import type { Composition } from "../compose.js";
import { EXIT_CODES, defineCommand } from "../command.js";
import { composeForCli } from "../compose.js";
import { formatVerdict } from "../evaluation-report.js";
import { specSourcesFor } from "./specs.js";

const usage = `
Usage: kernelevolve evaluate <spec> <kernel-file> [options]

Compiles, checks and times one kernel against a spec's reference.
<spec> is a spec id (see 'kernelevolve specs') or a .yaml/.json file.
The language follows the file: .cpp/.cc/.cxx -> cpp, .cu -> cuda, .py -> python (a KernelBench
ModelNew module) when it defines class ModelNew, even with @triton.jit kernels; else triton when it
contains @triton.jit, else python.

Options:
  --platform ID        Where to evaluate (default: cpu, or the first platform that runs the language)
  --size NAME          Evaluate this size only (repeatable; default: every size of the spec)
  --trials N           Correctness trials per size (default 3)
  --seed N             Base seed of the random inputs (default 0)
  --threads N          Threads for kernel and reference (default: all cores)
  --min-time-ms MS     Timed for at least this long per size (default 200)
  --no-timing          Check correctness only
  --compile-flag FLAG  Extra compiler flag (repeatable)
  --specs-dir DIR      Also search this folder for spec ids (repeatable)
  --json               Print the whole result as one JSON object

Exit codes: 0 passed, 1 the candidate failed, 2 bad usage or spec, 3 the platform failed.
`;

/** The candidate language implied by a kernel file's name and contents. */
export function languageOf(file: string, source: string): Language {
  const extension = extname(file).toLowerCase();
  if ([".cpp", ".cc", ".cxx"].includes(extension)) return "cpp";
  if (extension === ".cu") return "cuda";
  // A file defining class ModelNew is a KernelBench module even when its kernels are @triton.jit.
  if (extension === ".py") return /^class\s+ModelNew\b/m.test(source) ? "python" : /@triton\.jit\b/.test(source) ? "triton" : "python";
  throw new UserError("unknown_language", `cannot tell the language of ${file} from its extension '${extension || "(none)"}': use .cpp/.cc (cpp), .cu (cuda) or .py (triton or python)`);
}

function positiveInteger(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new UserError("bad_usage", `--${flag} expects a positive integer, got '${value}'`);
  return Number(value);
}

function integer(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value)) throw new UserError("bad_usage", `--${flag} expects an integer, got '${value}'`);
  return Number(value);
}

export default defineCommand({
  name: "evaluate",
  summary: "Compile, check and time one kernel file against a spec",
  usage,
  async run(argv, context) {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        allowPositionals: true,
        options: {
          platform: { type: "string" },
          size: { type: "string", multiple: true },
          trials: { type: "string" },
          seed: { type: "string" },
          threads: { type: "string" },
          "min-time-ms": { type: "string" },
          "no-timing": { type: "boolean", default: false },
          "compile-flag": { type: "string", multiple: true },
          "specs-dir": { type: "string", multiple: true, default: [] },
          json: { type: "boolean", default: false },
        },
      });
    } catch (error) {
      throw new UserError("bad_usage", `${(error as Error).message}\n${usage.trim()}`);
    }
    const { values, positionals } = parsed;
    if (positionals.length !== 2) {
      throw new UserError("bad_usage", `expected <spec> <kernel-file>, got ${positionals.length} argument${positionals.length === 1 ? "" : "s"}\n${usage.trim()}`);
    }
    const [specArgument, kernelArgument] = positionals;

    // Plugins (config, --plugin) contribute platforms and specs; nothing starts until a platform is used.
    const composition = await composeForCli(context, { specsDirectories: specSourcesFor(context, values["specs-dir"] as string[]).extraDirectories });
    try {
      return await evaluateWith(composition, specArgument, kernelArgument, values, context);
    } finally {
      await composition.close();
    }
  },
});

async function evaluateWith(
  composition: Composition,
  specArgument: string,
  kernelArgument: string,
  values: Record<string, string | boolean | (string | boolean)[] | undefined>,
  context: CliContext,
): Promise<number> {
  // Everything the user typed is checked before a runtime, a compiler or a core is touched.
  const { spec } = composition.resolveSpec(specArgument);
  const kernelPath = resolve(context.cwd, kernelArgument);
  if (!existsSync(kernelPath) || !statSync(kernelPath).isFile()) throw new UserError("kernel_not_found", `kernel file not found: ${kernelPath}`);
  const source = readFileSync(kernelPath, "utf8");
  if (!source.trim()) throw new UserError("empty_kernel", `kernel file is empty: ${kernelPath}`);
  const language = languageOf(kernelPath, source);
  const minTimeMs = values["min-time-ms"] === undefined ? undefined : Number(values["min-time-ms"]);
  if (minTimeMs !== undefined && !(minTimeMs > 0)) throw new UserError("bad_usage", `--min-time-ms expects a positive number, got '${values["min-time-ms"]}'`);
  const sizes = values.size as string[] | undefined;
  const unknownSizes = (sizes ?? []).filter((size) => !(size in spec.sizes));
  if (unknownSizes.length) {
    throw new UserError("unknown_size", `spec '${spec.id}' has no size ${unknownSizes.map((size) => `'${size}'`).join(", ")}. Available: ${Object.keys(spec.sizes).join(", ")}`);
  }
  const options: EvaluationOptions = {
    sizes,
    trials: positiveInteger("trials", values.trials as string | undefined),
    seed: integer("seed", values.seed as string | undefined),
    threads: positiveInteger("threads", values.threads as string | undefined),
    minTimeMs,
    timing: !values["no-timing"],
  };

  try {
    const requested = values.platform as string | undefined;
    const runsIt = (platform: Platform) => platform.languages.includes(language) && spec.targets.includes(platform.id);
    const preferred = composition.platforms.get(composition.defaults.platform);
    const platformId = requested ?? (runsIt(preferred) ? preferred.id : composition.platforms.values().find(runsIt)?.id ?? preferred.id);
    const platform = composition.platforms.get(platformId);
    if (!platform.languages.includes(language)) {
      throw new UserError("wrong_language", `platform '${platform.id}' runs ${platform.languages.join(", ")} kernels, but ${basename(kernelPath)} is ${language}`);
    }
    if (!spec.targets.includes(platform.id)) {
      throw new UserError("wrong_target", `spec '${spec.id}' targets ${spec.targets.join(", ")}, not '${platform.id}'`);
    }
    const availability = await platform.availability();
    if (!availability.available) throw new PlatformError("platform_unavailable", `platform '${platform.id}' is not available here: ${availability.reason}`);

    const controller = new AbortController();
    const interrupt = () => controller.abort();
    process.once("SIGINT", interrupt);
    let result;
    try {
      result = await platform.evaluate(spec, { language, source, compileFlags: (values["compile-flag"] as string[] | undefined) ?? [] }, options, controller.signal);
    } finally {
      process.off("SIGINT", interrupt);
    }
    if (values.json) {
      context.stdout.write(`${JSON.stringify({ spec: spec.id, kernel: kernelPath, language, ...result })}\n`);
    } else {
      context.stdout.write(formatVerdict(result, { specId: spec.id, platform: platform.id, kernelFile: kernelArgument, language }));
    }
    return result.status === "passed" ? EXIT_CODES.ok : EXIT_CODES.candidateFailed;
  } catch (error) {
    if (error instanceof PlatformError && error.code === "aborted") return EXIT_CODES.interrupted;
    throw error;
  }
}
