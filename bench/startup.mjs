// Start-up time of the CLI: `kernelevolve specs` through the build (what bin/kernelevolve.js runs after
// `npm run build`) and through tsx on the TypeScript sources (its fallback without a current build, and
// how the bin ran before there was a build). Usage: npm run bench:startup [-- runs]   (default 10 runs of each, one at a time)
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const runs = Number(process.argv[2] ?? 10);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`runs must be a positive integer, got ${process.argv[2]}`);
if (!existsSync(join(root, "dist", "cli-bundle", "main.js"))) throw new Error("no build: run npm run build first");

const variants = {
  // What bin/kernelevolve.js imports when the build is current (it first compares file times: a few ms).
  "dist/cli-bundle/main.js specs (build)": [join(root, "dist", "cli-bundle", "main.js"), "specs"],
  "tsx cli/main.ts specs (sources)": ["--import", "tsx", join(root, "cli", "main.ts"), "specs"],
};

// CPU seconds (user + system, from GNU time) next to wall seconds: on a shared, loaded machine the wall
// time mostly measures the queue for a core, the CPU time what start-up costs.
const gnuTime = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;
const summary = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return `min ${sorted[0].toFixed(2)}  median ${sorted[Math.floor(sorted.length / 2)].toFixed(2)}  max ${sorted.at(-1).toFixed(2)}`;
};

console.log(`node ${process.version}, ${runs} runs each, seconds; load average ${loadavg().map((value) => value.toFixed(1)).join(" ")}, ${cpus().length} cores`);
for (const [name, argv] of Object.entries(variants)) {
  const wall = [];
  const cpu = [];
  for (let run = 0; run < runs; run++) {
    const started = process.hrtime.bigint();
    const [command, ...rest] = gnuTime ? [gnuTime, "-f", "cpu %U %S", process.execPath, ...argv] : [process.execPath, ...argv];
    const result = spawnSync(command, rest, { cwd: root, encoding: "utf8" });
    wall.push(Number(process.hrtime.bigint() - started) / 1e9);
    if (result.status !== 0 || !/\d+ specs/.test(result.stdout)) throw new Error(`${name} failed (exit ${result.status}): ${result.stderr}`);
    const times = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(result.stderr);
    if (times) cpu.push(Number(times[1]) + Number(times[2]));
  }
  console.log(`${name.padEnd(40)} wall ${summary(wall)}` + (cpu.length ? ` | cpu ${summary(cpu)}` : ""));
}
