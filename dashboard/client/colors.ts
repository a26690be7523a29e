import type { CandidateNode } from "./types";

/** Colours of the lineage and legends: speed-up on a viridis-like scale, failures by reason. */

const VIRIDIS = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"];

function mix(a: string, b: string, t: number): string {
  const pa = [1, 3, 5].map((i) => parseInt(a.slice(i, i + 2), 16));
  const pb = [1, 3, 5].map((i) => parseInt(b.slice(i, i + 2), 16));
  return `#${pa.map((value, i) => Math.round(value + (pb[i] - value) * t).toString(16).padStart(2, "0")).join("")}`;
}

/** Colour of a speed-up given the run's best (log scale from 0.5x to the best, at least 2x). */
export function speedupColor(speedup: number, best: number): string {
  const top = Math.log(Math.max(best, 2));
  const bottom = Math.log(0.5);
  const t = Math.min(1, Math.max(0, (Math.log(Math.max(speedup, 1e-6)) - bottom) / (top - bottom)));
  const scaled = t * (VIRIDIS.length - 1);
  const index = Math.min(VIRIDIS.length - 2, Math.floor(scaled));
  return mix(VIRIDIS[index], VIRIDIS[index + 1], scaled - index);
}

export const SPEEDUP_STOPS = VIRIDIS;

/** Failure classes shown in the legend, with their colours. */
export const FAILURE_COLORS: Record<string, string> = {
  compile: "#e8590c",
  correctness: "#e03131",
  timeout: "#9c36b5",
  crash: "#c2255c",
  static: "#f59f00",
  timing: "#d6336c",
  proposal: "#868e96",
  other: "#a61e4d",
};

/** The legend class of a failed candidate. */
export function failureClass(node: Pick<CandidateNode, "stage" | "reason">): string {
  const reason = node.reason ?? "";
  if (reason.startsWith("proposal")) return "proposal";
  if (reason === "timeout") return "timeout";
  if (reason === "crash" || reason === "memory_limit") return "crash";
  if (node.stage === "compile" || reason === "compile_error") return "compile";
  if (node.stage === "correctness") return "correctness";
  if (node.stage === "static") return "static";
  if (node.stage === "timing") return "timing";
  return "other";
}

export const PENDING_COLOR = "#adb5bd";
export const MUTED_COLOR = "#dee2e6";

export type ColorMode = "speedup" | "failure";

export function nodeColor(node: CandidateNode, best: number, mode: ColorMode): string {
  if (node.status === "pending") return PENDING_COLOR;
  if (node.status === "passed") return mode === "speedup" ? speedupColor(node.fitness, best) : "#b2f2bb";
  return mode === "failure" ? FAILURE_COLORS[failureClass(node)] : MUTED_COLOR;
}
