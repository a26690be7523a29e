import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Page } from "playwright-core";
import { startDashboardServer } from "../../dashboard/server/server.js";
import { ensureDashboardBuilt, launchChromium, startDashboardProcess } from "./browser.js";
import { SyntheticRun } from "./synthetic-run.js";

/**
 * `kernelevolve dashboard` in a real headless Chromium (Debian's, through playwright-core) against
 * a live run: the run is written step by step through the run engine's own storage (RunDatabase and
 * the owner lock) while the page is open, and the page must follow without a reload.
 * Screenshots go to .cache/dashboard-screenshots, or to DASHBOARD_SCREENSHOTS when set (docs/images).
 */

const screenshots = resolve(process.env.DASHBOARD_SCREENSHOTS ?? join(".cache", "dashboard-screenshots"));

async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: join(screenshots, `dashboard-${name}.png`) });
}

/** Clicks a candidate's node on the lineage canvas, where cytoscape drew it. */
async function clickNode(page: Page, id: string): Promise<void> {
  const lineage = page.getByTestId("lineage");
  const box = (await lineage.boundingBox())!;
  const position = await lineage.evaluate((element, candidate) => (element as HTMLElement & { renderedPosition(id: string): { x: number; y: number } | null }).renderedPosition(candidate), id);
  if (!position) throw new Error(`candidate ${id} is not drawn`);
  await page.mouse.click(box.x + position.x, box.y + position.y);
}

describe("dashboard in headless Chromium", () => {
  let runsDirectory: string;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let dashboard: Awaited<ReturnType<typeof startDashboardProcess>>;
  let run: SyntheticRun;

  beforeAll(async () => {
    ensureDashboardBuilt();
    runsDirectory = mkdtempSync(join(tmpdir(), "kernelevolve-dashboard-"));
    // An older, finished run next to the live one.
    const old = new SyntheticRun({ runsDirectory, id: "20261206-090000-layernorm-0a0a", seed: 3, budget: 30 });
    old.grow(30, 10);
    old.finish();
    run = new SyntheticRun({ runsDirectory, id: "20261207-120000-layernorm-1b1b", seed: 11, budget: 60 });
    run.seed();
    [dashboard, browser] = await Promise.all([startDashboardProcess(["--port", "0", "--runs", runsDirectory, "--poll-ms", "200"]), launchChromium()]);
  }, 120000);

  afterAll(async () => {
    await browser?.close();
    const code = await dashboard?.stop();
    expect(code).toBe(0);
    run?.close();
    rmSync(runsDirectory, { recursive: true, force: true });
  });

  test("the runs list follows a live run: candidates, best speed-up and status change without a reload", async () => {
    expect(dashboard.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await browser.context.newPage();
    await page.goto(dashboard.url);
    const row = page.locator(`tr[data-run-id="${run.id}"]`);
    await row.waitFor();
    expect(await page.getByTestId("runs-table").getAttribute("data-run-count")).toBe("2");
    expect(await row.getAttribute("data-candidates")).toBe("1");
    await expect_text(row.getByTestId("status"), "running");
    await page.locator('tr[data-run-id="20261206-090000-layernorm-0a0a"] [data-testid="status"]', { hasText: "completed" }).waitFor();
    expect(await page.getByTestId("fleet").getAttribute("data-configured")).toBe("false");

    // The run writes a generation while the page stays open.
    run.propose(8);
    await page.locator(`tr[data-run-id="${run.id}"][data-candidates="9"]`).waitFor({ timeout: 15000 });
    run.evaluatePending();
    run.propose(12);
    run.evaluatePending();
    await page.locator(`tr[data-run-id="${run.id}"][data-candidates="21"]`).waitFor({ timeout: 15000 });
    const best = run.db.run().bestFitness;
    await page.locator(`tr[data-run-id="${run.id}"] [data-testid="best"]`, { hasText: `${best.toFixed(2)}x` }).waitFor({ timeout: 15000 });
    await shoot(page, "runs");
    await page.close();
  });

  test("the lineage renders every candidate, grows live, and a clicked candidate shows its diff, verdict and prompt", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${dashboard.url}#/runs/${run.id}/lineage`);
    const lineage = page.getByTestId("lineage");
    let total = run.db.totals().candidates;
    await page.locator(`[data-testid="lineage"][data-node-count="${total}"]`).waitFor({ timeout: 15000 });
    const edges = run.db.candidates().reduce((sum, candidate) => sum + candidate.parentIds.length, 0);
    expect(await lineage.getAttribute("data-edge-count")).toBe(String(edges));

    // More candidates while the lineage is open.
    run.propose(15);
    run.evaluatePending();
    total = run.db.totals().candidates;
    await page.locator(`[data-testid="lineage"][data-node-count="${total}"]`).waitFor({ timeout: 15000 });

    // A child with a prompt, clicked on the canvas.
    const child = run.db.candidates().filter((candidate) => candidate.status === "passed" && candidate.generation > 0).pop()!;
    await clickNode(page, child.id);
    const panel = page.locator(`[data-testid="candidate"][data-candidate-id="${child.id}"]`);
    await panel.waitFor({ timeout: 10000 });
    expect(page.url()).toContain(`/lineage/${child.id}`);
    await panel.getByTestId("timings").waitFor();
    expect(await panel.getByTestId("timings").locator("tbody tr").count()).toBe(child.result!.timings.length);

    await panel.getByTestId("tab-diff").click();
    const diff = panel.getByTestId("diff");
    await diff.waitFor();
    expect(Number(await diff.getAttribute("data-added"))).toBeGreaterThan(0);
    expect(await diff.textContent()).toContain(child.parentIds[0]);
    expect(await diff.textContent()).toContain(`// variant`);
    await shoot(page, "lineage-diff");

    await panel.getByTestId("tab-prompt").click();
    const chunks = panel.getByTestId("chunks");
    await chunks.waitFor();
    const stored = run.db.prompt(child.id);
    expect(stored.chunkIds.length).toBeGreaterThan(0);
    expect(await chunks.getAttribute("data-chunk-count")).toBe(String(stored.chunkIds.length));
    for (const chunkId of stored.chunkIds) expect(await chunks.textContent()).toContain(chunkId);
    expect(await chunks.textContent()).toContain("seeds/docs/cpu/");
    expect(await panel.getByTestId("prompt-text").textContent()).toContain("## Retrieved knowledge");
    await chunks.locator("summary").first().click();
    await shoot(page, "lineage-prompt");

    // The failure colouring and a failed candidate's verdict.
    await page.getByTestId("mode-failure").click();
    const failed = run.db.candidates().find((candidate) => candidate.status === "failed")!;
    await clickNode(page, failed.id);
    const failedPanel = page.locator(`[data-testid="candidate"][data-candidate-id="${failed.id}"]`);
    await failedPanel.getByTestId("tab-verdict").click(); // the panel keeps the tab chosen for the previous candidate
    await page.locator(`[data-testid="candidate"][data-candidate-id="${failed.id}"] [data-testid="verdict"]`, { hasText: failed.result!.message }).waitFor();
    await shoot(page, "lineage-failures");
    await page.close();
  });

  test("charts and the comparison view read the same run", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${dashboard.url}#/runs/${run.id}/charts`);
    const evaluated = run.db.candidates().filter((candidate) => candidate.status !== "pending").length;
    await page.locator(`[data-testid="chart-time"][data-points="${evaluated}"]`).waitFor({ timeout: 15000 });
    expect(await page.locator("[data-testid=chart-size] .u-legend").textContent()).toContain("large");
    await shoot(page, "charts");

    const best = run.db.run().bestCandidateId!;
    await page.goto(`${dashboard.url}#/runs/${run.id}/compare/${best}`);
    const compare = page.getByTestId("compare");
    await compare.getByTestId("diff").waitFor({ timeout: 10000 });
    expect(await compare.getByTestId("compare-b").inputValue()).toBe(best);
    expect(await compare.textContent()).toContain("B over A");
    await shoot(page, "compare");

    run.finish();
    await page.goto(dashboard.url);
    await page.locator(`tr[data-run-id="${run.id}"] [data-testid="status"]`, { hasText: "completed" }).waitFor({ timeout: 15000 });
    await page.close();
  });
});

async function expect_text(locator: ReturnType<Page["locator"]>, text: string): Promise<void> {
  await locator.filter({ hasText: text }).waitFor({ timeout: 10000 });
}

describe("dashboard server access", () => {
  let runsDirectory: string;
  beforeAll(() => {
    ensureDashboardBuilt();
    runsDirectory = mkdtempSync(join(tmpdir(), "kernelevolve-dashboard-access-"));
  });
  afterAll(() => rmSync(runsDirectory, { recursive: true, force: true }));

  const get = (port: number, path: string, headers: Record<string, string> = {}, method = "GET") =>
    new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolveGet, reject) => {
      const call = request({ host: "127.0.0.1", port, path, method, headers }, (response) => {
        let body = "";
        response.on("data", (chunk) => (body += chunk));
        response.on("end", () => resolveGet({ status: response.statusCode!, headers: response.headers, body }));
      });
      call.on("error", reject);
      call.end();
    });

  test("with a token, every request needs it (query, bearer header or the cookie the first page load sets)", async () => {
    const server = await startDashboardServer({ runsDirectory, distDirectory: "dashboard/dist", port: 0, token: "s3cret-token" });
    try {
      expect(server.openUrl).toBe(`${server.url}?token=s3cret-token`);
      expect((await get(server.port, "/")).status).toBe(401);
      expect((await get(server.port, "/api/runs")).status).toBe(401);
      expect((await get(server.port, "/api/runs?token=wrong")).status).toBe(401);
      expect((await get(server.port, "/api/runs", { authorization: "Bearer s3cret-tokeX" })).status).toBe(401);
      const first = await get(server.port, "/?token=s3cret-token");
      expect(first.status).toBe(200);
      expect(String(first.headers["set-cookie"])).toContain("HttpOnly");
      expect((await get(server.port, "/api/runs", { cookie: "kernelevolve_dashboard=s3cret-token" })).status).toBe(200);
      expect((await get(server.port, "/api/runs", { authorization: "Bearer s3cret-token" })).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  test("on loopback it refuses foreign Host headers (DNS rebinding), writes nothing and reports no fleet without a queue", async () => {
    const server = await startDashboardServer({ runsDirectory, distDirectory: "dashboard/dist", port: 0 });
    try {
      expect(server.token).toBeUndefined();
      expect((await get(server.port, "/api/runs", { host: "attacker.example" })).status).toBe(403);
      expect((await get(server.port, "/api/runs")).status).toBe(200);
      expect((await get(server.port, "/api/runs", {}, "POST")).status).toBe(405);
      expect(JSON.parse((await get(server.port, "/api/fleet")).body)).toEqual({ configured: false });
      expect((await get(server.port, "/api/runs/nope")).status).toBe(404);
      expect((await get(server.port, "/api/runs/..%2F..%2Fetc/candidates/x")).status).toBe(404);
      expect((await get(server.port, "/../../package.json")).body).not.toContain('"name": "kernelevolve"');
    } finally {
      await server.close();
    }
  });

  test("a missing client build is a clear error", async () => {
    await expect(startDashboardServer({ runsDirectory, distDirectory: join(runsDirectory, "nothing"), port: 0 })).rejects.toThrow(/npm run build:dashboard/);
  });
});
