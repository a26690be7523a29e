import { HIGHLIGHT, escapeXml } from "./svg.js";
import type { ReportData } from "./report-data.js";

function niceStep(range: number, ticks: number): number {
  const raw = range / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((factor) => factor * power).find((step) => step >= raw) ?? raw;
}

/** Best speed-up so far over the run's time as a step line, each correct candidate as a dot. */
export function renderSpeedupChart(timeline: ReportData["timeline"]): string {
  const width = 640;
  const height = 300;
  const left = 50;
  const right = 20;
  const top = 20;
  const bottom = 40;
  const spanMs = Math.max(1000, ...timeline.map((point) => point.atMs));
  const maxY = Math.max(1.2, ...timeline.map((point) => point.best)) * 1.1;
  const x = (ms: number) => left + (ms / spanMs) * (width - left - right);
  const y = (value: number) => height - bottom - (value / maxY) * (height - top - bottom);
  const seconds = spanMs / 1000;
  const xStep = niceStep(seconds, 6);
  const yStep = niceStep(maxY, 5);
  const grid: string[] = [];
  for (let value = 0; value <= maxY + 1e-9; value += yStep) {
    grid.push(`<line x1="${left}" x2="${width - right}" y1="${y(value).toFixed(1)}" y2="${y(value).toFixed(1)}" stroke="#eee"/><text x="${left - 6}" y="${(y(value) + 4).toFixed(1)}" font-size="10" text-anchor="end" fill="#666">${value.toFixed(yStep < 1 ? 1 : 0)}x</text>`);
  }
  for (let value = 0; value <= seconds + 1e-9; value += xStep) {
    grid.push(`<text x="${x(value * 1000).toFixed(1)}" y="${height - bottom + 16}" font-size="10" text-anchor="middle" fill="#666">${value < 120 ? `${+value.toFixed(1)}s` : `${+(value / 60).toFixed(1)}m`}</text>`);
  }
  let path = "";
  let previous = 0;
  for (const point of timeline) {
    path += path ? ` L${x(point.atMs).toFixed(1)},${y(previous).toFixed(1)} L${x(point.atMs).toFixed(1)},${y(point.best).toFixed(1)}` : `M${x(point.atMs).toFixed(1)},${y(point.best).toFixed(1)}`;
    previous = point.best;
  }
  if (timeline.length) path += ` L${x(spanMs).toFixed(1)},${y(previous).toFixed(1)}`;
  const dots = timeline
    .filter((point) => point.fitness > 0)
    .map((point) => `<circle cx="${x(point.atMs).toFixed(1)}" cy="${y(point.fitness).toFixed(1)}" r="2.5" fill="#90a4ae"><title>${escapeXml(`${point.candidateId} ${point.fitness.toFixed(2)}x`)}</title></circle>`)
    .join("");
  const one = `<line x1="${left}" x2="${width - right}" y1="${y(1).toFixed(1)}" y2="${y(1).toFixed(1)}" stroke="#999" stroke-dasharray="4,3"/>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" class="speedup-chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">${grid.join("")}${one}${dots}<path class="best-line" d="${path}" fill="none" stroke="${HIGHLIGHT}" stroke-width="2.5"/><text x="${left}" y="${height - 6}" font-size="11" fill="#333">time since the run began; gold: best speed-up so far, dots: correct candidates, dashed: 1x</text></svg>`;
}
