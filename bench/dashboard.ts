/**
 * bench:dashboard — how the dashboard copes with a large run. Writes a synthetic run of 5,000
 * candidates through the run engine's storage (tests/dashboard/synthetic-run.ts), serves it, and
 * opens it in Debian's headless Chromium (playwright-core), measuring:
 *   - runs list: navigation start -> the run's row is shown;
 *   - lineage: navigation start -> all nodes laid out and the next two frames painted, and the
 *     layout + element time inside the page (d3-hierarchy + cytoscape);
 *   - time to interactive: navigation start -> lineage drawn -> a click on "best" has opened its panel;
 *   - click -> candidate panel, and one zoom step -> two frames painted.
 * Three rounds in one fresh browser profile (the first is cold); the median is reported.
 * Usage: npm run bench:dashboard [-- --candidates 5000 --rounds 3]; DASHBOARD_SCREENSHOTS=docs/images also
 * saves the drawn 5,000-node lineage as dashboard-lineage-5000.png.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chunkSourceResolver } from "../dashboard/server/chunk-sources.js";
import { startDashboardServer } from "../dashboard/server/server.js";
import { ensureDashboardBuilt, launchChromium } from "../tests/dashboard/browser.js";
import { SyntheticRun } from "../tests/dashboard/synthetic-run.js";

const { values } = parseArgs({ options: { candidates: { type: "string", default: "5000" }, rounds: { type: "string", default: "3" } } });
const total = Number(values.candidates);
const rounds = Number(values.rounds);
if (!Number.isInteger(total) || total < 2 || !Number.isInteger(rounds) || rounds < 1) throw new Error("--candidates >= 2 and --rounds >= 1, integers");

const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];

ensureDashboardBuilt();
const runsDirectory = mkdtempSync(join(tmpdir(), "kernelevolve-bench-dashboard-"));
let written = Date.now();
const run = new SyntheticRun({ runsDirectory, seed: 5, budget: total, chunksPerPrompt: 4 });
run.grow(total, 100);
const bestId = run.bestCandidate()!;
const parentOfBest = run.db.candidate(bestId)!.parentIds[0] ?? bestId;
const nearBest = [parentOfBest, ...run.db.candidates().filter((candidate) => candidate.parentIds[0] === parentOfBest && candidate.id !== bestId).map((candidate) => candidate.id)];
run.finish();
written = Date.now() - written;
process.stdout.write(`wrote a run of ${total} candidates in ${(written / 1000).toFixed(1)} s\n`);

const server = await startDashboardServer({
  runsDirectory,
  distDirectory: join(process.cwd(), "dashboard", "dist"),
  port: 0,
  resolveChunk: chunkSourceResolver([join(process.cwd(), "seeds", "docs")], process.cwd()),
});
const browser = await launchChromium();
const results: Record<string, number>[] = [];
try {
  let apiMs = Date.now();
  const payload = await (await fetch(`${server.url}api/runs/${run.id}/candidates?since=0`)).text();
  apiMs = Date.now() - apiMs;
  for (let round = 0; round < rounds; round++) {
    const page = await browser.context.newPage();
    let start = Date.now();
    await page.goto(server.url);
    await page.locator(`tr[data-run-id="${run.id}"][data-candidates="${total}"]`).waitFor({ timeout: 60000 });
    const runsList = Date.now() - start;

    await page.goto("about:blank");
    start = Date.now();
    await page.goto(`${server.url}#/runs/${run.id}/lineage`); // a fresh document, as a person opening the link
    const lineage = page.getByTestId("lineage");
    await page.locator(`[data-testid="lineage"][data-node-count="${total}"]`).waitFor({ timeout: 120000 });
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    const lineageShown = Date.now() - start;
    const layoutMs = Number(await lineage.getAttribute("data-render-ms"));

    // Time to interactive: the "best" button answers (selects, centres and opens the candidate).
    await page.getByRole("button", { name: "best ★" }).click();
    await page.locator(`[data-testid="candidate"][data-candidate-id="${bestId}"] [data-testid="timings"]`).waitFor({ timeout: 60000 });
    const interactive = Date.now() - start;
    await page.waitForTimeout(400); // the centring animation (250 ms)

    // A click on the canvas, on the drawn candidate nearest the best one (its siblings and parent are candidates).
    const box = (await lineage.boundingBox())!;
    const drawn = await lineage.evaluate(
      (element, ids) => ids.map((id) => ({ id, at: (element as HTMLElement & { renderedPosition(id: string): { x: number; y: number } | null }).renderedPosition(id) })),
      nearBest,
    );
    const centre = { x: box.width / 2, y: box.height / 2 };
    const target = drawn
      .filter((item) => item.at && item.at.x > 10 && item.at.y > 10 && item.at.x < box.width - 10 && item.at.y < box.height - 10)
      .sort((a, b) => Math.hypot(a.at!.x - centre.x, a.at!.y - centre.y) - Math.hypot(b.at!.x - centre.x, b.at!.y - centre.y))
      .find((item) => Math.hypot(item.at!.x - centre.x, item.at!.y - centre.y) > 12);
    if (!target) throw new Error("no candidate near the best one is drawn in view");
    const clickStart = Date.now();
    await page.mouse.click(box.x + target.at!.x, box.y + target.at!.y);
    await page.locator(`[data-testid="candidate"][data-candidate-id="${target.id}"] [data-testid="verdict"]`).waitFor({ timeout: 60000 });
    const clickMs = Date.now() - clickStart;

    const zoomMs = await page.evaluate(
      () =>
        new Promise<number>((resolve) => {
          const began = performance.now();
          (document.querySelector('button[title="zoom in"]') as HTMLButtonElement).click();
          requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - began)));
        }),
    );
    if (round === 0 && process.env.DASHBOARD_SCREENSHOTS) {
      mkdirSync(process.env.DASHBOARD_SCREENSHOTS, { recursive: true });
      await page.getByTestId("fit").click();
      await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
      await page.screenshot({ path: join(process.env.DASHBOARD_SCREENSHOTS, "dashboard-lineage-5000.png") });
    }
    results.push({ runsList, lineageShown, layoutMs, interactive, clickMs, zoomMs });
    process.stdout.write(`round ${round + 1}: ${JSON.stringify(results[results.length - 1])}\n`);
    await page.close();
  }
  const summary = {
    candidates: total,
    rounds,
    machine: `${cpus().length} cores (${cpus()[0]?.model ?? "unknown"}), Node ${process.version}, Debian chromium`,
    writeRunSeconds: written / 1000,
    candidatesApiMs: apiMs,
    candidatesApiKB: Math.round(payload.length / 1024),
    medians: Object.fromEntries(Object.keys(results[0]).map((key) => [key, Math.round(median(results.map((result) => result[key])))])),
    rounds_raw: results,
  };
  mkdirSync(".cache", { recursive: true });
  writeFileSync(join(".cache", "bench-dashboard.json"), `${JSON.stringify(summary, null, 2)}\n`);
  const m = summary.medians;
  process.stdout.write(
    [
      "",
      `dashboard with a run of ${total} candidates (median of ${rounds} rounds; ${summary.machine})`,
      `  candidates API         ${apiMs} ms, ${summary.candidatesApiKB} KB`,
      `  runs list shown        ${m.runsList} ms`,
      `  lineage drawn          ${m.lineageShown} ms (layout + elements in page ${m.layoutMs} ms)`,
      `  time to interactive    ${m.interactive} ms (navigation -> lineage drawn -> the best button's candidate panel open)`,
      `  click -> panel         ${m.clickMs} ms`,
      `  zoom step -> 2 frames  ${m.zoomMs} ms`,
      "",
    ].join("\n"),
  );
} finally {
  await browser.close();
  await server.close();
  rmSync(runsDirectory, { recursive: true, force: true });
}
