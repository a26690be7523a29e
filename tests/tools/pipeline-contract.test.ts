// The pipeline tools' schemas against the Python commands they run: every argument a tool can send (its
// schema's keys in snake_case, after the row's renames) is an argument the command declares, and the AOViFT
// train presets are the pipeline's own list. Drift between the two languages fails here, not in a model's run.
import { execFileSync } from "node:child_process";
import { join, resolve } from "node:path";
import { z } from "zod";
import { AOVIFT_PIPELINE, AOVIFT_TRAIN_PRESETS } from "../../tools/aovift/index.js";
import { EXFM_PIPELINE } from "../../tools/exfm/index.js";
import type { Pipeline } from "../../tools/pipeline-tools.js";

const root = resolve(".");
const python = join(root, ".venv", "bin", "python");

const declared = JSON.parse(
  execFileSync(
    python,
    [
      "-c",
      [
        "import json",
        "from pipelines.aovift import cli as aovift",
        "from pipelines.exfm import __main__ as exfm",
        "from pipelines.aovift.models import PRESETS",
        "table = lambda commands: {c.name: [a.name for a in c.arguments] for c in commands}",
        "print(json.dumps({'pipelines.aovift': table(aovift.COMMANDS), 'pipelines.exfm': table(exfm.COMMANDS), 'presets': list(PRESETS)}))",
      ].join("\n"),
    ],
    { cwd: root, env: { ...process.env, PYTHONPATH: join(root, "python") }, encoding: "utf8", timeout: 120_000 },
  ).trim().split("\n").at(-1)!,
) as Record<string, Record<string, string[]>> & { presets: string[] };

const snake = (name: string) => name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

function mismatches(pipeline: Pipeline<any>): string[] {
  const commands = declared[pipeline.module];
  const problems: string[] = [];
  for (const tool of pipeline.tools) {
    const accepted = commands[tool.command];
    if (!accepted) {
      problems.push(`${tool.name}: ${pipeline.module} has no command '${tool.command}'`);
      continue;
    }
    const shape = (tool.schema as z.AnyZodObject).shape as Record<string, unknown>;
    for (const key of Object.keys(shape)) {
      const sent = tool.rename?.[key] ?? snake(key);
      if (!accepted.includes(sent)) problems.push(`${tool.name}.${key}: '${tool.command}' declares no '${sent}'`);
    }
  }
  return problems;
}

describe("pipeline tools and the Python commands they run", () => {
  test("every AOViFT tool argument is declared by its command", () => {
    expect(mismatches(AOVIFT_PIPELINE)).toEqual([]);
  });

  test("every ExFM tool argument is declared by its command", () => {
    expect(mismatches(EXFM_PIPELINE)).toEqual([]);
  });

  test("the AOViFT train presets are the pipeline's PRESETS", () => {
    expect([...AOVIFT_TRAIN_PRESETS].sort()).toEqual([...declared.presets].sort());
  });

  test("the check sees an argument the command does not declare", () => {
    const broken = { module: "pipelines.aovift", tools: [{ ...AOVIFT_PIPELINE.tools[0], schema: z.object({ notAnArgument: z.number() }) }] };
    expect(mismatches(broken as Pipeline<any>)).toEqual([`${AOVIFT_PIPELINE.tools[0].name}.notAnArgument: '${AOVIFT_PIPELINE.tools[0].command}' declares no 'not_an_argument'`]);
  });
});
