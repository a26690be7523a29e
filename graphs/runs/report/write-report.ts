import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { RunDatabase } from "../run-database.js";
import { runPaths } from "../run-paths.js";
import { collectReportData } from "./report-data.js";
import { renderReportHtml } from "./report-html.js";
import { renderReportMarkdown } from "./report-markdown.js";
import { renderLineageSvg } from "./lineage-svg.js";
import { renderSpeedupChart } from "./speedup-chart-svg.js";

/** Writes report.md, report.html, lineage.svg and speedup.svg into a run folder and returns their paths. */
export function writeRunReport(folder: string): { markdown: string; html: string; lineage: string; speedup: string } {
  const db = RunDatabase.open(folder);
  try {
    const data = collectReportData(db);
    const lineage = renderLineageSvg(data.candidates, data.bestPath);
    const speedup = renderSpeedupChart(data.timeline);
    const paths = { ...runPaths(folder), lineage: join(folder, "lineage.svg"), speedup: join(folder, "speedup.svg") };
    writeFileSync(paths.lineage, lineage);
    writeFileSync(paths.speedup, speedup);
    writeFileSync(paths.reportMarkdown, renderReportMarkdown(data));
    writeFileSync(paths.reportHtml, renderReportHtml(data, { lineage, speedup }));
    return { markdown: paths.reportMarkdown, html: paths.reportHtml, lineage: paths.lineage, speedup: paths.speedup };
  } finally {
    db.close();
  }
}
