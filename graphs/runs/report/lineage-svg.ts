import type { StoredCandidate } from "../run-database.js";
import { HIGHLIGHT, STATUS_COLOURS, escapeXml } from "./svg.js";

/**
 * The lineage tree as SVG: one column per generation, nodes coloured by status (radius grows with
 * the speed-up), parent -> child edges (dashed for a second parent), the path to the best in gold.
 */
export function renderLineageSvg(candidates: StoredCandidate[], bestPath: string[]): string {
  const columnWidth = 56;
  const rowHeight = 22;
  const margin = 30;
  const generations = new Map<number, StoredCandidate[]>();
  for (const candidate of candidates) generations.set(candidate.generation, [...(generations.get(candidate.generation) ?? []), candidate]);
  const positions = new Map<string, { x: number; y: number }>();
  const order = [...generations.keys()].sort((a, b) => a - b);
  const columns = new Map(order.map((generation, index) => [generation, index]));
  for (const generation of order) {
    // Sort each column by its parents' rows, so edges cross as little as a cheap rule allows.
    const column = generations.get(generation)!;
    const parentRow = (candidate: StoredCandidate) => positions.get(candidate.parentIds[0] ?? "")?.y ?? 0;
    column.sort((a, b) => parentRow(a) - parentRow(b) || a.id.localeCompare(b.id));
    column.forEach((candidate, row) => positions.set(candidate.id, { x: margin + columns.get(generation)! * columnWidth, y: margin + row * rowHeight }));
  }
  const rows = Math.max(1, ...[...generations.values()].map((column) => column.length));
  const width = margin * 2 + Math.max(0, order.length - 1) * columnWidth + 120;
  const height = margin * 2 + (rows - 1) * rowHeight + 20;
  const onPath = new Set(bestPath);
  const maxFitness = Math.max(1, ...candidates.map((candidate) => candidate.fitness));
  const edges: string[] = [];
  const nodes: string[] = [];
  for (const candidate of candidates) {
    const to = positions.get(candidate.id)!;
    candidate.parentIds.forEach((parentId, index) => {
      const from = positions.get(parentId);
      if (!from) return;
      const highlighted = index === 0 && onPath.has(parentId) && onPath.has(candidate.id);
      const stroke = highlighted ? HIGHLIGHT : "#b0bec5";
      edges.push(
        `<path d="M${from.x},${from.y} C${(from.x + to.x) / 2},${from.y} ${(from.x + to.x) / 2},${to.y} ${to.x},${to.y}" fill="none" stroke="${stroke}" stroke-width="${highlighted ? 3 : 1}"${index > 0 ? ' stroke-dasharray="3,3"' : ""}/>`,
      );
    });
  }
  for (const candidate of candidates) {
    const { x, y } = positions.get(candidate.id)!;
    const radius = 4 + (candidate.fitness > 0 ? (4 * candidate.fitness) / maxFitness : 0);
    const title = `${candidate.id} gen ${candidate.generation} ${candidate.status}${candidate.fitness > 0 ? ` ${candidate.fitness.toFixed(2)}x` : candidate.result?.reason ? ` (${candidate.result.reason})` : ""}${candidate.strategy ? ` - ${candidate.strategy}` : ""}`;
    const ring = onPath.has(candidate.id) ? ` stroke="${HIGHLIGHT}" stroke-width="3"` : ' stroke="#fff" stroke-width="1"';
    nodes.push(
      `<circle class="node ${candidate.status}${onPath.has(candidate.id) ? " best-path" : ""}" data-id="${candidate.id}" cx="${x}" cy="${y}" r="${radius.toFixed(1)}" fill="${STATUS_COLOURS[candidate.status]}"${ring}><title>${escapeXml(title)}</title></circle>`,
    );
  }
  const best = bestPath.at(-1);
  const label = best && positions.get(best)
    ? `<text x="${positions.get(best)!.x + 12}" y="${positions.get(best)!.y + 4}" font-size="11" fill="#333">best ${escapeXml(best)} ${candidates.find((candidate) => candidate.id === best)!.fitness.toFixed(2)}x</text>`
    : "";
  const axis = order
    .map((generation) => `<text x="${margin + columns.get(generation)! * columnWidth}" y="14" font-size="10" text-anchor="middle" fill="#666">g${generation}</text>`)
    .join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" class="lineage" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">${axis}<g class="edges">${edges.join("")}</g><g class="nodes">${nodes.join("")}</g>${label}</svg>`;
}
