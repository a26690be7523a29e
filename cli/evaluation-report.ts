import type { EvaluationResult, TimingStats } from "../core/protocol.js";

/** What the verdict's header names. */
export interface VerdictContext {
  specId: string;
  platform: string;
  kernelFile: string;
  language: string;
}

const STAGES = ["static", "compile", "correctness", "timing"] as const;

function seconds(value: number | undefined): string {
  return value === undefined ? "" : value < 0.1 ? `${(value * 1000).toFixed(1)} ms` : `${value.toFixed(2)} s`;
}

function milliseconds(stats: TimingStats | undefined): string {
  if (!stats) return "-";
  const value = stats.medianMs;
  return value >= 100 ? `${value.toFixed(1)} ms` : value >= 1 ? `${value.toFixed(3)} ms` : `${(value * 1000).toFixed(2)} µs`;
}

function scientific(value: number | null | undefined): string {
  return value === null || value === undefined ? "-" : value.toExponential(2);
}

function stageMark(result: EvaluationResult, stage: (typeof STAGES)[number]): "✓" | "✗" | "·" {
  if (result.status === "failed" && result.stage === stage) return "✗";
  const reached = result.status === "passed" || STAGES.indexOf(stage) < STAGES.indexOf(result.stage as (typeof STAGES)[number]);
  if (!reached) return "·";
  if (stage === "timing" && result.timings.length === 0) return "·";
  return "✓";
}

function stageDetail(result: EvaluationResult, stage: (typeof STAGES)[number]): string {
  if (stage === "static") {
    const warnings = result.staticFindings.filter((finding) => finding.severity === "warn").length;
    return warnings ? `${warnings} warning${warnings > 1 ? "s" : ""}` : "";
  }
  if (stage === "compile") return result.compile ? (result.compile.cached ? "cached" : `compiled in ${seconds(result.compile.seconds)}`) : "";
  if (stage === "correctness") {
    if (!result.trials.length) return "";
    const passed = result.trials.filter((trial) => trial.passed).length;
    const maxAbs = Math.max(...result.trials.map((trial) => trial.maxAbsError ?? 0));
    const maxRel = Math.max(...result.trials.map((trial) => trial.maxRelError ?? 0));
    const ratios = result.trials.map((trial) => trial.errorRatioVsFp32).filter((ratio): ratio is number => typeof ratio === "number");
    const ratio = ratios.length ? `, error vs fp32 reference ${Math.max(...ratios).toFixed(2)}x` : "";
    return `${passed}/${result.trials.length} trials, max abs error ${scientific(maxAbs)}, max rel error ${scientific(maxRel)}${ratio}`;
  }
  return result.timings.length ? `${result.timings.length} size${result.timings.length > 1 ? "s" : ""}` : "";
}

/** Renders an evaluation result as the readable verdict `kernelevolve evaluate` prints. */
export function formatVerdict(result: EvaluationResult, context: VerdictContext): string {
  const lines: string[] = [];
  lines.push(`${context.specId} · ${context.platform} · ${context.kernelFile} (${context.language})`);
  for (const stage of STAGES) {
    const duration = result.durations[stage];
    lines.push(`  ${stageMark(result, stage)} ${stage.padEnd(12)} ${seconds(duration).padStart(9)}  ${stageDetail(result, stage)}`.trimEnd());
  }
  for (const finding of result.staticFindings) {
    lines.push(`    ${finding.severity === "strict" ? "✗" : "!"} ${finding.check}${finding.line ? ` (line ${finding.line})` : ""}: ${finding.message}`);
  }
  if (result.mismatch) {
    const m = result.mismatch;
    lines.push(
      `  mismatch in '${m.output}' at size ${m.size}: ${m.mismatched} of ${m.total} elements outside tolerance; first at [${m.firstIndex.join(", ")}]: expected ${m.expected}, got ${m.actual} (max abs error ${scientific(m.maxAbsError)})`,
    );
  }
  if (result.timings.length) {
    const rows = [["size", "candidate", "reference", "speed-up"]];
    for (const timing of result.timings) {
      rows.push([timing.size, milliseconds(timing.candidate), milliseconds(timing.reference), `${timing.speedup.toFixed(2)}x`]);
    }
    const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
    lines.push("");
    for (const row of rows) lines.push(`  ${row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]))).join("   ")}`);
  }
  lines.push("");
  const verdict = result.status === "passed" ? "PASSED" : `FAILED (${result.reason ?? "unknown"})`;
  const speedup = result.speedup !== undefined ? `  speed-up ${result.speedup.toFixed(2)}x (geomean)` : "";
  lines.push(`${verdict}${speedup}  ${result.message}`);
  const overhead = result.durations.overhead !== undefined ? `, runtime overhead ${seconds(result.durations.overhead)}` : "";
  if (result.durations.total !== undefined) lines.push(`total ${seconds(result.durations.total)}${overhead}`);
  if (result.flags.length) lines.push(`flags: ${result.flags.join(", ")}`);
  if (result.status === "failed" && result.log.trim()) {
    const logLines = result.log.trimEnd().split("\n");
    const shown = logLines.slice(0, 30);
    lines.push("log:", ...shown.map((line) => `  ${line}`));
    if (logLines.length > shown.length) lines.push(`  … ${logLines.length - shown.length} more lines (use --json for the whole log)`);
  }
  return `${lines.join("\n")}\n`;
}
