import type { StoredCandidate } from "../run-database.js";
import type { ReportData } from "./report-data.js";

const speed = (fitness: number) => (fitness > 0 ? `${fitness.toFixed(2)}x` : "-");
const cell = (text: string | undefined) => (text ?? "").replace(/\|/g, "\\|").replace(/\n/g, " ");

function candidateRow(candidate: StoredCandidate): string {
  return `| ${candidate.id} | ${candidate.generation} | ${candidate.status} | ${speed(candidate.fitness)} | ${candidate.parentIds.join(", ") || "-"} | ${cell(candidate.strategy)} |`;
}

/** The markdown report: summary, best kernel, top candidates, failures, lineage of the best, prompts' chunks. */
export function renderReportMarkdown(data: ReportData): string {
  const { run, best, candidates } = data;
  const passed = candidates.filter((candidate) => candidate.status === "passed");
  const top = [...passed].sort((a, b) => b.fitness - a.fitness).slice(0, 10);
  const lines = [
    `# Run ${run.id}`,
    "",
    `| | |`,
    `|---|---|`,
    `| spec | ${run.specId} |`,
    `| platform | ${run.platform} |`,
    `| operator / policy | ${run.operator} / ${run.policy} |`,
    `| status | ${run.status}${run.terminationReason ? ` (${run.terminationReason})` : ""} |`,
    `| candidates | ${candidates.length}: ${passed.length} passed, ${candidates.filter((candidate) => candidate.status === "failed").length} failed, ${candidates.filter((candidate) => candidate.status === "pending").length} pending |`,
    `| best speed-up | ${best ? `${speed(best.fitness)} (${best.id})` : "none"} |`,
    `| baseline | ${data.baseline ? `${speed(data.baseline.fitness)} (${data.baseline.id})` : "-"} |`,
    `| working time | ${(run.activeMs / 1000).toFixed(1)} s |`,
    `| model tokens | ${data.usage.tokensInput + data.usage.tokensOutput} (${data.usage.tokensInput} in, ${data.usage.tokensOutput} out) |`,
    `| model cost | $${data.usage.costUsd.toFixed(4)}${data.usage.costUsd === 0 && data.usage.tokensInput > 0 ? " (no price set for the model: kernelevolve.config.json \"models\" or --price-in/--price-out)" : ""} |`,
    `| started | ${new Date(run.createdAt).toISOString()} |`,
    "",
    "Charts: [lineage tree](lineage.svg), [best speed-up over time](speedup.svg); both are also in report.html.",
    "",
  ];
  if (best) {
    lines.push(`## Best kernel: ${best.id} (${speed(best.fitness)})`, "");
    if (best.params) lines.push(`Parameters: ${Object.entries(best.params).map(([name, value]) => `\`${name}=${value}\``).join(", ")}`, "");
    const timings = best.result?.timings ?? [];
    if (timings.length) {
      lines.push("| size | kernel ms | reference ms | speed-up |", "|---|---|---|---|");
      for (const timing of timings) lines.push(`| ${timing.size} | ${timing.candidate.medianMs.toPrecision(4)} | ${timing.reference.medianMs.toPrecision(4)} | ${timing.speedup.toFixed(2)}x |`);
      lines.push("");
    }
    lines.push(`File: \`${best.kernelPath}\``, "", "Path from the seed:", "");
    for (const id of data.bestPath) {
      const step = candidates.find((candidate) => candidate.id === id)!;
      lines.push(`- ${id} (g${step.generation}, ${speed(step.fitness)}): ${step.strategy ?? step.operator}`);
    }
    lines.push("");
  }
  lines.push("## Top candidates", "", "| id | gen | status | speed-up | parents | strategy |", "|---|---|---|---|---|---|", ...top.map(candidateRow), "");
  if (data.failures.length) {
    lines.push("## Failures", "", "| reason | count |", "|---|---|", ...data.failures.map((failure) => `| ${failure.reason} | ${failure.count} |`), "");
  }
  lines.push("## Retrieved knowledge per prompt", "");
  if (data.prompts.length === 0) lines.push("No prompts in this run (the offline autotune operator writes none).", "");
  else {
    lines.push("| candidate | model | chunk ids |", "|---|---|---|");
    for (const prompt of data.prompts) lines.push(`| ${prompt.candidateId} | ${prompt.model ?? "-"} | ${prompt.chunkIds.join(", ") || "(none)"} |`);
    lines.push("");
  }
  return lines.join("\n");
}
