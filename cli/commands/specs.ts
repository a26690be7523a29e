import { delimiter, relative } from "node:path";
import { stringify as toYaml } from "yaml";
import { seedKernelPath, type SpecEntry, type SpecSources } from "../../app/spec-catalog.js";
import { UserError } from "../../core/errors.js";
import { EXIT_CODES, defineCommand } from "../command.js";
import { openCliComposition, type CliContext } from "../context.js";
import { COMMON_OPTIONS, option, optionsHelp, parseCommandLine } from "../options.js";

const options = {
  json: option(COMMON_OPTIONS.json.schema.describe("One JSON document instead of a table")),
  specsDir: option(COMMON_OPTIONS.specsDir.schema.describe("Also search this folder of .yaml/.json specs (repeatable; KERNELEVOLVE_SPECS adds more, ':'-separated)"), "DIR"),
};

const usage = `
Usage: kernelevolve specs [--json] [--specs-dir DIR ...]
       kernelevolve specs show <id|file> [--json] [--specs-dir DIR ...]

Lists the kernel specifications (seeds/specs plus extra folders), or shows one in full.

Options:
${optionsHelp(options)}
`;

/** Spec folders from --specs-dir and the KERNELEVOLVE_SPECS environment variable. */
export function specSourcesFor(context: CliContext, flagDirectories: string[] = []): SpecSources {
  const fromEnvironment = (context.env.KERNELEVOLVE_SPECS ?? "").split(delimiter).filter(Boolean);
  return { root: context.root, cwd: context.cwd, extraDirectories: [...fromEnvironment, ...flagDirectories] };
}

function summary(entry: SpecEntry) {
  return {
    id: entry.spec.id,
    category: entry.spec.category,
    sizes: Object.keys(entry.spec.sizes),
    targets: entry.spec.targets,
    description: entry.spec.description.trim(),
    baselines: entry.baselines,
    templates: entry.templates,
    origin: entry.origin,
  };
}

function table(rows: string[][], width: number): string {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows
    .map((row) => {
      const line = row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]))).join("  ");
      // The description is the last column: cut it at the terminal's edge rather than wrap.
      return line.length > width ? `${line.slice(0, width - 1)}…` : line;
    })
    .join("\n");
}

function showText(entry: SpecEntry, context: CliContext): string {
  const { spec } = entry;
  const tensor = (t: { name: string; dtype: string; shape: (string | number)[]; init?: unknown; description?: string }) =>
    `    ${t.name}: ${t.dtype}[${t.shape.join(", ")}]${t.init ? `  init ${JSON.stringify(t.init)}` : ""}${t.description ? `  # ${t.description}` : ""}`;
  const seeds = spec.targets
    .flatMap((platform) => (["baseline", "template"] as const).map((kind) => seedKernelPath(context.root, platform, spec.id, kind)))
    .filter((path): path is string => Boolean(path))
    .map((path) => `    ${relative(context.cwd, path) || path}`);
  return [
    `${spec.id}  (${spec.category})`,
    `  ${spec.description.trim()}`,
    `  from: ${relative(context.cwd, entry.origin) || entry.origin}`,
    `  dimensions: ${spec.dimensions.join(", ")}`,
    ...(Object.keys(spec.scalars).length ? [`  scalars: ${Object.entries(spec.scalars).map(([name, value]) => `${name}=${value}`).join(", ")}`] : []),
    "  inputs:",
    ...spec.inputs.map(tensor),
    "  outputs:",
    ...spec.outputs.map(tensor),
    "  sizes:",
    ...Object.entries(spec.sizes).map(([name, dims]) => `    ${name}: ${Object.entries(dims).map(([dim, value]) => `${dim}=${value}`).join(" ")}`),
    `  targets: ${spec.targets.join(", ")}`,
    ...(Object.keys(spec.tolerances).length ? [`  tolerances: ${Object.entries(spec.tolerances).map(([dtype, t]) => `${dtype} atol=${t.atol} rtol=${t.rtol}`).join("; ")}`] : []),
    ...(spec.constraints.forbiddenCalls.length ? [`  forbidden calls: ${spec.constraints.forbiddenCalls.join(", ")}`] : []),
    ...(spec.constraints.notes ? [`  notes: ${spec.constraints.notes.trim()}`] : []),
    ...(spec.cost ? [`  cost: ${toYaml(spec.cost).trim().replace(/\n/g, ", ")}`] : []),
    "  seed kernels:",
    ...(seeds.length ? seeds : ["    (none)"]),
    "  reference:",
    ...spec.reference.trimEnd().split("\n").map((line) => `    ${line}`),
  ].join("\n");
}

export default defineCommand({
  name: "specs",
  summary: "List kernel specifications, or show one (specs show <id>)",
  usage,
  async run(argv, context) {
    const parsed = parseCommandLine(argv, options, usage, { expected: "nothing, or 'show <id|file>'", min: 0, max: Number.POSITIVE_INFINITY });
    const sources = specSourcesFor(context, parsed.values.specsDir);
    const [action, argument, ...extra] = parsed.positionals;
    if (action !== undefined && action !== "show") {
      throw new UserError("bad_usage", `unknown specs action '${action}': use 'kernelevolve specs' or 'kernelevolve specs show <id>'`);
    }
    if (action === "show" && !argument) throw new UserError("bad_usage", "'specs show' needs a spec id or file, e.g. 'kernelevolve specs show layernorm'");
    if (extra.length) throw new UserError("bad_usage", `unexpected arguments: ${extra.join(" ")}`);
    // The composition adds plugin specs to the seeds and the extra folders; it starts no runtime.
    const composition = await openCliComposition(context, { specsDirectories: sources.extraDirectories });
    try {
      return show(composition.specs.values(), action === "show" ? composition.resolveSpec(argument) : undefined, parsed.values.json, context);
    } finally {
      await composition.close();
    }
  },
});

function show(entries: SpecEntry[], one: SpecEntry | undefined, json: boolean, context: CliContext): number {
  if (!one) {
    if (json) {
      context.stdout.write(`${JSON.stringify(entries.map(summary), null, 2)}\n`);
      return EXIT_CODES.ok;
    }
    const rows = [["ID", "CATEGORY", "SIZES", "TARGETS", "BASELINE", "DESCRIPTION"]];
    for (const entry of entries) {
      const info = summary(entry);
      rows.push([info.id, info.category, info.sizes.join(","), info.targets.join(","), info.baselines.join(",") || "-", info.description.replace(/\s+/g, " ")]);
    }
    context.stdout.write(`${table(rows, context.stdout.columns ?? 160)}\n${entries.length} specs\n`);
    return EXIT_CODES.ok;
  }
  const entry = one;
  if (json) {
    context.stdout.write(`${JSON.stringify({ ...summary(entry), spec: entry.spec }, null, 2)}\n`);
  } else {
    context.stdout.write(`${showText(entry, context)}\n`);
  }
  return EXIT_CODES.ok;
}
