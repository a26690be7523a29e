import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, renameSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";
import type { Composition } from "../../app/composition.js";
import { ModelOptionsSchema, RunOptionsSchema } from "../../app/run-request.js";
import { availablePlatform, resumeRun, startRun } from "../../app/start-run.js";
import { UserError } from "../../core/errors.js";
import { scoreResults, type BenchProblem, type BenchResults } from "../../core/kernelbench-scoring.js";
import { parseSpec } from "../../core/spec-loader.js";
import type { KernelSpec } from "../../core/spec.js";
import type { OptimizeResult } from "../../graphs/evolve/optimize.js";
import { importProblems } from "../../graphs/kernelbench/import-problems.js";
import { RunDatabase } from "../../graphs/runs/run-database.js";
import { EXIT_CODES, defineCommand } from "../command.js";
import { modelFromFlags, openCliComposition, type CliContext } from "../context.js";
import { COMMON_OPTIONS, option, optionsHelp, parseCommandLine, type OptionValues } from "../options.js";
import { onProcessStop } from "../process-lifetime.js";

const run = RunOptionsSchema.shape;
const suite = {
  seeds: option(z.boolean().default(false).describe("Every seed spec of seeds/specs that targets the platform")),
  plugins: option(z.boolean().default(false).describe("Every spec contributed by a plugin (--plugin, kernelevolve.config.*)")),
  spec: option(z.array(z.string().min(1)).optional().describe("One spec id or file (repeatable)"), "ID"),
  kernelbench: option(z.string().min(1).optional().describe("KernelBench problems (through the importer), with --level N and --problems LIST"), "DIR"),
  level: option(z.number().int().min(1).optional().describe("KernelBench level of --kernelbench"), "N"),
  problems: option(z.string().min(1).optional().describe("KernelBench problem numbers of --kernelbench, e.g. 1-20,25"), "LIST"),
};
const settings = {
  platform: option(run.platform.describe("Where kernels run (default: cpu)"), "ID"),
  queue: option(COMMON_OPTIONS.queue.schema.describe("Evaluate through the fleet at this Redis (default: KERNELEVOLVE_QUEUE / config; none: local)"), "URL"),
  tag: COMMON_OPTIONS.tag,
  budget: option(run.budget.describe("Candidates for the whole campaign, shared evenly by its searches (default 20 per spec)"), "N"),
  parallel: option(z.number().int().min(1).default(4).describe("Searches at once (default 4)"), "N"),
  model: option(ModelOptionsSchema.shape.model.describe("LLM operator (needed for specs without a template kernel, e.g. KernelBench)"), "NAME"),
  policy: option(run.policy.describe("Selection policy (default greedy)"), "ID"),
  size: option(run.size.describe("Evaluate this size only, where a spec has it (repeatable)"), "NAME"),
  trials: option(run.trials, "N"),
  minTimeMs: option(run.minTimeMs, "MS"),
  json: option(COMMON_OPTIONS.json.schema.describe("One JSON line per search event, then the summary as JSON")),
};
const options = { ...suite, ...settings };

const usage = `
Usage: kernelevolve campaign start <name> [suite options] [options]
       kernelevolve campaign resume <name> [--queue URL] [--json]
       kernelevolve campaign report <name> [--json]

Runs one search per spec of a suite, several at once, on one platform and a shared candidate
budget, through the fleet (--queue) or the local runtime, and ends with one table: correctness
rate, fast_p (p = 0, 1, 1.5, 2), geomean speed-up over correct kernels and each spec's best (scored
as KernelBench scores: every spec of the suite is in the denominator). Each search is an ordinary
run (runs/<name>--<spec>), so 'resume' after Ctrl-C, kill or a crash continues the unfinished ones
and leaves finished ones alone. The report is written to runs/campaigns/<name>/report.md and
results.json.

Suite (at least one):
${optionsHelp(suite)}

Options:
${optionsHelp(settings)}

Exit codes: 0 done, 1 no correct kernel at all, 2 bad usage, 3 platform failure, 130 interrupted.
`;

/** One search of a campaign. */
interface Member {
  specId: string;
  runId: string;
  origin: string;
  budget: number;
  /** The spec as it was when the campaign started (imported KernelBench problems have no file). */
  spec?: KernelSpec;
  status: "pending" | "completed" | "stopped" | "interrupted" | "failed" | "skipped";
  reason?: string;
  bestFitness?: number;
  bestKernel?: string;
  candidates?: number;
  passed?: number;
}

interface CampaignFile {
  kind: "kernelevolve-campaign";
  version: 1;
  name: string;
  createdAt: string;
  platform: string;
  fleet?: { queue: string; tag?: string };
  parallel: number;
  operator?: string;
  model?: string;
  policy?: string;
  evaluation: { sizes?: string[]; trials?: number; minTimeMs?: number };
  members: Member[];
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

function campaignFolder(context: CliContext, name: string): string {
  return join(context.runsDirectory, "campaigns", name);
}

function save(folder: string, campaign: CampaignFile): void {
  mkdirSync(folder, { recursive: true });
  const path = join(folder, "campaign.json");
  writeFileSync(`${path}.tmp`, `${JSON.stringify(campaign, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

function load(context: CliContext, name: string): CampaignFile {
  const path = join(campaignFolder(context, name), "campaign.json");
  if (!existsSync(path)) throw new UserError("unknown_campaign", `no campaign '${name}' in ${join(context.runsDirectory, "campaigns")}`);
  return JSON.parse(readFileSync(path, "utf8")) as CampaignFile;
}

/** Reads a member's run database back into the member (status, best, counts). */
function refresh(member: Member, runsDirectory: string): void {
  const folder = join(runsDirectory, member.runId);
  if (!existsSync(join(folder, "run.sqlite"))) return;
  const db = RunDatabase.open(folder);
  try {
    const run = db.run();
    const totals = db.totals();
    const best = run.bestCandidateId ? db.candidate(run.bestCandidateId) : undefined;
    Object.assign(member, {
      status: run.status === "running" ? "interrupted" : run.status,
      reason: run.terminationReason,
      bestFitness: run.bestFitness,
      bestKernel: best ? join(folder, best.kernelPath) : undefined,
      candidates: totals.candidates,
      passed: totals.passed,
    });
  } finally {
    db.close();
  }
}

/** The campaign as KernelBench-style results, scored by core/kernelbench-scoring.ts. */
export function campaignResults(campaign: CampaignFile): BenchResults {
  const problems: BenchProblem[] = campaign.members.map((member) => ({
    number: member.spec?.kernelbench ? Number(/^(\d+)_/.exec(member.spec.kernelbench.file ?? "")?.[1] ?? NaN) || null : null,
    file: member.specId,
    specId: member.specId,
    status: member.status === "skipped" ? "import_failed" : "ok",
    reason: member.status === "skipped" ? member.reason : undefined,
    scaled: Boolean(member.spec?.kernelbench?.scaled),
    factors: {},
    size: {},
    candidate:
      member.status === "skipped" || member.candidates === undefined
        ? undefined
        : {
            file: member.bestKernel?.split("/").slice(-2).join("/") ?? "(none)",
            status: (member.bestFitness ?? 0) > 0 ? "passed" : "failed",
            message: `${member.status}${member.reason ? ` (${member.reason})` : ""}: ${member.passed ?? 0} of ${member.candidates} candidates correct`,
            speedup: (member.bestFitness ?? 0) > 0 ? member.bestFitness : undefined,
          },
  }));
  return { kind: "kernelbench-results", version: 1, createdAt: new Date().toISOString(), path: `campaign ${campaign.name}`, level: null, platform: campaign.platform, scale: "none", candidates: null, problems };
}

function report(campaign: CampaignFile): string {
  const score = scoreResults(campaignResults(campaign));
  const where = campaign.fleet ? `the fleet (${campaign.fleet.queue.replace(/\/\/[^@]*@/, "//***@")}${campaign.fleet.tag ? `, tag ${campaign.fleet.tag}` : ""})` : "the local runtime";
  const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
  const cell = (text: string) => text.replace(/\|/g, "\\|");
  return [
    `# Campaign ${campaign.name}`,
    "",
    `${campaign.members.length} searches on platform ${campaign.platform} through ${where}, created ${campaign.createdAt}; scored as KernelBench (core/kernelbench-scoring.ts: every search in the denominator).`,
    "",
    "| searches | correct | correctness rate | fast_0 | fast_1 | fast_1.5 | fast_2 | geomean speed-up (correct) |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
    `| ${score.problems} | ${score.correct} | ${percent(score.correctnessRate)} | ${["0", "1", "1.5", "2"].map((p) => percent(score.fastP[p] ?? 0)).join(" | ")} | ${score.geomeanSpeedup === null ? "-" : `${score.geomeanSpeedup.toFixed(3)}x`} |`,
    "",
    "| spec | status | candidates | correct | best speed-up | best kernel |",
    "| --- | --- | --- | --- | --- | --- |",
    ...campaign.members.map((member) => `| ${member.specId} | ${member.status}${member.reason ? ` (${cell(member.reason).slice(0, 100)})` : ""} | ${member.candidates ?? 0} | ${member.passed ?? 0} | ${(member.bestFitness ?? 0) > 0 ? `${member.bestFitness!.toFixed(2)}x` : "-"} | ${member.bestKernel ?? "-"} |`),
    "",
  ].join("\n");
}

async function suiteMembers(
  composition: Composition,
  context: CliContext,
  values: OptionValues<typeof options>,
  platformId: string,
  name: string,
): Promise<Member[]> {
  const specs: { spec: KernelSpec; origin: string }[] = [];
  const seen = new Set<string>();
  const add = (spec: KernelSpec, origin: string) => {
    if (seen.has(spec.id)) return;
    seen.add(spec.id);
    specs.push({ spec, origin });
  };
  if (values.seeds) {
    const seedFolder = join(context.root, "seeds", "specs");
    for (const entry of composition.specs.values()) if (entry.origin === seedFolder && entry.spec.targets.includes(platformId)) add(entry.spec, "seeds/specs");
  }
  if (values.plugins) for (const entry of composition.specs.values()) if (entry.origin.startsWith("plugin")) add(entry.spec, entry.origin);
  for (const id of values.spec ?? []) {
    const entry = composition.resolveSpec(id);
    add(entry.spec, entry.origin);
  }
  if (values.kernelbench) {
    for await (const record of importProblems({ python: context.python, pythonPath: context.pythonPath, path: resolve(context.cwd, values.kernelbench), level: values.level, problems: values.problems, scale: "auto" })) {
      if (!record.ok || !record.spec) continue;
      const spec = parseSpec({ ...record.spec, targets: [...new Set([...((record.spec.targets as string[]) ?? []), platformId])] }, `imported from ${record.file}`);
      add(spec, `kernelbench ${record.file}`);
    }
  }
  if (!specs.length) throw new UserError("bad_usage", `campaign '${name}' has no spec: name a suite (--seeds, --plugins, --spec ID, --kernelbench DIR)\n${usage.trim()}`);
  // The spec is stored with the member, so a resume runs the same spec whatever happened to its file since.
  return specs.map(({ spec, origin }) => ({ specId: spec.id, runId: `${name}--${spec.id}`, origin, budget: 0, spec, status: "pending" as const }));
}

/** Runs (or resumes) every unfinished member, `parallel` at once; returns true when interrupted. */
async function runMembers(campaign: CampaignFile, folder: string, context: CliContext, composition: Composition, json: boolean, signal: AbortSignal): Promise<void> {
  const platform = await availablePlatform(composition, campaign.platform);
  const print = (event: Record<string, unknown>, text: string) => context.stdout.write(json ? `${JSON.stringify(event)}\n` : `${text}\n`);
  const todo = campaign.members.filter((member) => member.status !== "completed" && member.status !== "skipped");
  let next = 0;
  const worker = async () => {
    while (next < todo.length && !signal.aborted) {
      const member = todo[next++];
      const index = campaign.members.indexOf(member) + 1;
      const spec = member.spec ?? composition.resolveSpec(member.specId).spec;
      const runFolder = join(context.runsDirectory, member.runId);
      let result: OptimizeResult | undefined;
      try {
        const sizes = campaign.evaluation.sizes?.filter((size) => size in spec.sizes);
        const evaluation = { ...campaign.evaluation, sizes: sizes?.length ? sizes : undefined };
        print({ type: "member-start", campaign: campaign.name, specId: member.specId, runId: member.runId, index }, `[${index}/${campaign.members.length}] ${member.specId}: ${existsSync(join(runFolder, "run.sqlite")) ? "resuming" : "starting"} run ${member.runId} (budget ${member.budget})`);
        const start = () =>
          startRun(
            composition,
            { spec, platform: platform.id, operator: campaign.operator, policy: campaign.policy, runId: member.runId, budget: { candidates: member.budget }, evaluation, metadata: { campaign: campaign.name } },
            { signal },
          );
        if (existsSync(join(runFolder, "run.sqlite"))) {
          try {
            result = await resumeRun(composition, runFolder, { signal });
          } catch (error) {
            // Killed between creating the run database and recording the run: nothing of it was evaluated, start it afresh.
            if ((error as { code?: string }).code !== "run_not_found") throw error;
            rmSync(runFolder, { recursive: true, force: true });
            result = await start();
          }
        } else {
          result = await start();
        }
        refresh(member, context.runsDirectory);
      } catch (error) {
        if ((error as { fault?: string }).fault === "user" || (error as { code?: string }).code === "no_template") {
          Object.assign(member, { status: "skipped", reason: (error as Error).message.split("\n")[0] });
        } else {
          refresh(member, context.runsDirectory);
          if (member.status === "pending" || member.status === "completed") Object.assign(member, { status: "failed" });
          member.reason = (error as Error).message.split("\n")[0];
        }
      }
      save(folder, campaign);
      const best = (member.bestFitness ?? 0) > 0 ? `best ${member.bestFitness!.toFixed(2)}x` : "no correct kernel";
      print(
        { type: "member-end", campaign: campaign.name, specId: member.specId, runId: member.runId, status: member.status, reason: member.reason, bestFitness: member.bestFitness, candidates: member.candidates, index },
        `[${index}/${campaign.members.length}] ${member.specId}: ${member.status}${member.reason && member.status !== "completed" ? ` (${member.reason})` : ""}, ${best}, ${member.candidates ?? 0} candidates${result ? ` in ${(result.timings.wallMs / 1000).toFixed(1)} s` : ""}`,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(campaign.parallel, todo.length)) }, worker));
}

function finish(campaign: CampaignFile, folder: string, context: CliContext, json: boolean, interrupted: boolean): number {
  const results = campaignResults(campaign);
  const score = scoreResults(results);
  const text = report(campaign);
  writeFileSync(join(folder, "report.md"), text);
  writeFileSync(join(folder, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  if (json) context.stdout.write(`${JSON.stringify({ type: "campaign-end", campaign: campaign.name, interrupted, score, members: campaign.members.map(({ spec: _spec, ...member }) => member), report: join(folder, "report.md") })}\n`);
  else {
    context.stdout.write(`\n${text}\nreport: ${join(folder, "report.md")}\n`);
    if (interrupted) context.stdout.write(`continue with: kernelevolve campaign resume ${campaign.name}\n`);
  }
  if (interrupted) return EXIT_CODES.interrupted;
  return score.correct > 0 ? EXIT_CODES.ok : EXIT_CODES.candidateFailed;
}

export default defineCommand({
  name: "campaign",
  summary: "Run searches over a whole suite (seed specs, KernelBench, plugins) on a shared budget and fleet",
  usage,
  async run(argv, context) {
    const { values, positionals } = parseCommandLine(argv, options, usage, { expected: "'campaign start|resume|report <name>'", min: 2, max: 2 });
    const [action, name] = positionals;
    if (!["start", "resume", "report"].includes(action)) throw new UserError("bad_usage", `expected 'campaign start|resume|report <name>', got '${action}'\n${usage.trim()}`);
    if (!NAME.test(name)) throw new UserError("bad_usage", `campaign name '${name}' must be lower-case letters, digits, '-' or '_' (it names runs and a folder)`);
    const folder = campaignFolder(context, name);

    if (action === "report") {
      const campaign = load(context, name);
      for (const member of campaign.members) if (member.status !== "skipped") refresh(member, context.runsDirectory);
      return finish(campaign, folder, context, values.json, false);
    }

    let campaign: CampaignFile;
    const model = modelFromFlags(context, values);
    if (action === "resume") {
      campaign = load(context, name);
    } else {
      if (existsSync(join(folder, "campaign.json"))) throw new UserError("campaign_exists", `campaign '${name}' exists; continue it with: kernelevolve campaign resume ${name}`);
      campaign = {
        kind: "kernelevolve-campaign",
        version: 1,
        name,
        createdAt: new Date().toISOString(),
        platform: values.platform ?? "cpu",
        fleet: undefined,
        parallel: values.parallel,
        operator: values.model ? "llm" : undefined,
        model: model?.name,
        policy: values.policy,
        evaluation: { sizes: values.size, trials: values.trials, minTimeMs: values.minTimeMs },
        members: [],
      };
    }
    const flags = { queue: values.queue ?? campaign.fleet?.queue, tag: values.tag ?? campaign.fleet?.tag };
    const composition = await openCliComposition(context, { model: campaign.model ? modelFromFlags(context, { model: campaign.model }) : undefined, fleet: flags });
    const controller = new AbortController();
    const interrupt = () => {
      if (controller.signal.aborted) process.exit(EXIT_CODES.interrupted);
      context.stderr.write("\ninterrupting the campaign at the next safe point (Ctrl-C again to quit at once)...\n");
      controller.abort();
    };
    process.on("SIGINT", interrupt);
    const unsubscribe = onProcessStop(() => controller.abort());
    try {
      const queuePlatform = composition.platforms.get(campaign.platform) as { queue?: string; tag?: string };
      if (queuePlatform.queue) campaign.fleet = { queue: flags.queue ?? context.env.KERNELEVOLVE_QUEUE ?? "", tag: queuePlatform.tag === "any" ? undefined : queuePlatform.tag };
      if (action === "start") {
        campaign.members = await suiteMembers(composition, context, values, campaign.platform, name);
        const total = values.budget ?? 20 * campaign.members.length;
        const share = Math.floor(total / campaign.members.length);
        if (share < 2) throw new UserError("bad_usage", `--budget ${total} is too small for ${campaign.members.length} specs (at least 2 candidates each)`);
        campaign.members.forEach((member, index) => (member.budget = share + (index < total - share * campaign.members.length ? 1 : 0)));
        save(folder, campaign);
        context.stdout.write(values.json ? "" : `campaign ${name}: ${campaign.members.length} searches on ${campaign.platform}${campaign.fleet ? ` through the fleet (queue of ${campaign.platform}${campaign.fleet.tag ? `, tag ${campaign.fleet.tag}` : ""})` : " (local runtime)"}, budget ${total} candidates, ${campaign.parallel} at once\n`);
      }
      await runMembers(campaign, folder, context, composition, values.json, controller.signal);
      save(folder, campaign);
      return finish(campaign, folder, context, values.json, controller.signal.aborted);
    } finally {
      process.off("SIGINT", interrupt);
      (unsubscribe as () => void)();
      await composition.close();
    }
  },
});
