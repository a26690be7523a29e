import { existsSync, readFileSync, statSync } from "node:fs";
import { extname, resolve } from "node:path";
import { z } from "zod";
import { evaluateKernel } from "../../app/evaluate-kernel.js";
import { RunOptionsSchema } from "../../app/run-request.js";
import { PlatformError, UserError } from "../../core/errors.js";
import type { Language } from "../../core/protocol.js";
import { EXIT_CODES, defineCommand } from "../command.js";
import { openCliComposition } from "../context.js";
import { formatVerdict } from "../evaluation-report.js";
import { COMMON_OPTIONS, option, optionsHelp, parseCommandLine } from "../options.js";
import { specSourcesFor } from "./specs.js";

const run = RunOptionsSchema.shape;
const options = {
  platform: option(run.platform.describe("Where to evaluate (default: cpu, or the first platform that runs the language)"), "ID"),
  size: option(run.size.describe("Evaluate this size only (repeatable; default: every size of the spec)"), "NAME"),
  trials: option(run.trials, "N"),
  seed: option(z.number().int().optional().describe("Base seed of the random inputs (default 0)"), "N"),
  threads: option(run.threads, "N"),
  minTimeMs: option(run.minTimeMs, "MS"),
  noTiming: option(z.boolean().default(false).describe("Check correctness only")),
  compileFlag: option(z.array(z.string()).default([]).describe("Extra compiler flag (repeatable)"), "FLAG"),
  specsDir: COMMON_OPTIONS.specsDir,
  json: option(COMMON_OPTIONS.json.schema.describe("Print the whole result as one JSON object")),
};

const usage = `
Usage: kernelevolve evaluate <spec> <kernel-file> [options]

Compiles, checks and times one kernel against a spec's reference.
<spec> is a spec id (see 'kernelevolve specs') or a .yaml/.json file.
The language follows the file: .cpp/.cc/.cxx -> cpp, .cu -> cuda, .py -> python (a KernelBench
ModelNew module) when it defines class ModelNew, even with @triton.jit kernels; else triton when it
contains @triton.jit, else python.

Options:
${optionsHelp(options)}

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

export default defineCommand({
  name: "evaluate",
  summary: "Compile, check and time one kernel file against a spec",
  usage,
  async run(argv, context) {
    const { values, positionals } = parseCommandLine(argv, options, usage, { expected: "<spec> <kernel-file>", min: 2, max: 2 });
    const [specArgument, kernelArgument] = positionals;
    // Everything the user typed is checked before a runtime, a compiler or a core is touched.
    const kernelPath = resolve(context.cwd, kernelArgument);
    if (!existsSync(kernelPath) || !statSync(kernelPath).isFile()) throw new UserError("kernel_not_found", `kernel file not found: ${kernelPath}`);
    const source = readFileSync(kernelPath, "utf8");
    if (!source.trim()) throw new UserError("empty_kernel", `kernel file is empty: ${kernelPath}`);
    const language = languageOf(kernelPath, source);
    const evaluation = { sizes: values.size, trials: values.trials, seed: values.seed, threads: values.threads, minTimeMs: values.minTimeMs, timing: !values.noTiming };

    // Plugins (config, --plugin) contribute platforms and specs; nothing starts until a platform is used.
    const composition = await openCliComposition(context, { specsDirectories: specSourcesFor(context, values.specsDir).extraDirectories });
    const controller = new AbortController();
    const interrupt = () => controller.abort();
    try {
      process.once("SIGINT", interrupt);
      const { spec, platform, result } = await evaluateKernel(composition, { spec: specArgument, candidate: { language, source, compileFlags: values.compileFlag }, platform: values.platform, options: evaluation }, controller.signal);
      if (values.json) {
        context.stdout.write(`${JSON.stringify({ spec: spec.id, kernel: kernelPath, language, ...result })}\n`);
      } else {
        context.stdout.write(formatVerdict(result, { specId: spec.id, platform: platform.id, kernelFile: kernelArgument, language }));
      }
      return result.status === "passed" ? EXIT_CODES.ok : EXIT_CODES.candidateFailed;
    } catch (error) {
      if (error instanceof PlatformError && error.code === "aborted") return EXIT_CODES.interrupted;
      throw error;
    } finally {
      process.off("SIGINT", interrupt);
      await composition.close();
    }
  },
});
