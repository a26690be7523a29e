import type { ReportData } from "./report-data.js";
import { escapeXml } from "./svg.js";

const speed = (fitness: number) => (fitness > 0 ? `${fitness.toFixed(2)}x` : "-");

/** A self-contained HTML report (inline CSS and SVG, no scripts or external files). */
export function renderReportHtml(data: ReportData, charts: { lineage: string; speedup: string }): string {
  const { run, best, candidates } = data;
  const rows = [...candidates]
    .sort((a, b) => b.fitness - a.fitness || a.id.localeCompare(b.id))
    .map(
      (candidate) =>
        `<tr class="${candidate.status}"><td>${candidate.id}</td><td>${candidate.generation}</td><td>${candidate.status}</td><td>${speed(candidate.fitness)}</td><td>${escapeXml(candidate.parentIds.join(", "))}</td><td>${escapeXml(candidate.strategy ?? "")}</td><td>${escapeXml(candidate.status === "failed" ? (candidate.result?.reason ?? candidate.result?.message ?? "") : "")}</td></tr>`,
    )
    .join("\n");
  const prompts = data.prompts.length
    ? `<table><tr><th>candidate</th><th>model</th><th>chunk ids</th></tr>${data.prompts.map((prompt) => `<tr><td>${prompt.candidateId}</td><td>${escapeXml(prompt.model ?? "-")}</td><td>${escapeXml(prompt.chunkIds.join(", ") || "(none)")}</td></tr>`).join("")}</table>`
    : "<p>No prompts in this run (the offline autotune operator writes none).</p>";
  const path = data.bestPath
    .map((id) => {
      const step = candidates.find((candidate) => candidate.id === id)!;
      return `<li>${id} (g${step.generation}, ${speed(step.fitness)}): ${escapeXml(step.strategy ?? step.operator)}</li>`;
    })
    .join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Run ${escapeXml(run.id)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:1100px}
table{border-collapse:collapse;margin:1rem 0;font-size:13px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}
tr.failed td{color:#a33}tr.pending td{color:#888}.figure{overflow-x:auto;border:1px solid #eee;padding:8px;margin:1rem 0}
pre{background:#f6f8fa;padding:1rem;overflow-x:auto;font-size:12px}.legend span{display:inline-block;margin-right:1rem}
.dot{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:4px;vertical-align:middle}
</style></head><body>
<h1>Run ${escapeXml(run.id)}</h1>
<table>
<tr><th>spec</th><td>${escapeXml(run.specId)}</td></tr>
<tr><th>platform</th><td>${escapeXml(run.platform)}</td></tr>
<tr><th>operator / policy</th><td>${escapeXml(run.operator)} / ${escapeXml(run.policy)}</td></tr>
<tr><th>status</th><td>${run.status}${run.terminationReason ? ` (${escapeXml(run.terminationReason)})` : ""}</td></tr>
<tr><th>candidates</th><td>${candidates.length}</td></tr>
<tr><th>best speed-up</th><td>${best ? `${speed(best.fitness)} (${best.id})` : "none"}</td></tr>
<tr><th>working time</th><td>${(run.activeMs / 1000).toFixed(1)} s</td></tr>
</table>
<h2>Best speed-up over time</h2>
<div class="figure">${charts.speedup}</div>
<h2>Lineage</h2>
<p class="legend"><span><i class="dot" style="background:#2e7d32"></i>passed</span><span><i class="dot" style="background:#c62828"></i>failed</span><span><i class="dot" style="background:#9e9e9e"></i>pending</span><span><i class="dot" style="background:#f9a825"></i>path to the best</span> Node size grows with the speed-up; dashed edges are second parents. Hover a node for details.</p>
<div class="figure">${charts.lineage}</div>
${best ? `<h2>Best kernel: ${best.id} (${speed(best.fitness)})</h2><ol>${path}</ol><pre><code>${escapeXml(best.source)}</code></pre>` : "<h2>No correct kernel</h2>"}
<h2>Candidates</h2>
<table><tr><th>id</th><th>gen</th><th>status</th><th>speed-up</th><th>parents</th><th>strategy</th><th>failure</th></tr>
${rows}
</table>
<h2>Retrieved knowledge per prompt</h2>
${prompts}
</body></html>
`;
}
