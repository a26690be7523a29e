import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { RunDatabase } from "../../graphs/runs/run-database.js";
import { listRunIds } from "../../graphs/runs/run-paths.js";
import { ensureDashboardBuilt, launchChromium, startDashboardProcess } from "./browser.js";

/**
 * The dashboard open while a real offline run goes: `kernelevolve optimize gelu` with the autotune
 * operator compiles and times C++ kernels on the CPU, and the page must show the run appear, its
 * candidates grow and its lineage match the database. Minutes on a loaded 2-core machine, so it runs
 * only with DASHBOARD_REAL_RUN=1 (the default suite writes the run through RunDatabase instead:
 * dashboard.e2e.test.ts).
 */

const enabled = process.env.DASHBOARD_REAL_RUN === "1";
const maybe = enabled ? test : test.skip;
const screenshots = resolve(process.env.DASHBOARD_SCREENSHOTS ?? join(".cache", "dashboard-screenshots"));

describe("dashboard during a real autotune run", () => {
  maybe(
    `follows kernelevolve optimize gelu --budget 5 live${enabled ? "" : " (skipped: set DASHBOARD_REAL_RUN=1)"}`,
    async () => {
      ensureDashboardBuilt();
      const runsDirectory = mkdtempSync(join(tmpdir(), "kernelevolve-dashboard-real-"));
      const dashboard = await startDashboardProcess(["--port", "0", "--runs", runsDirectory, "--poll-ms", "250"]);
      const browser = await launchChromium();
      const optimize = spawn(process.execPath, ["--import", "tsx", join(process.cwd(), "cli", "main.ts"), "optimize", "gelu", "--budget", "5"], {
        env: { ...process.env, KERNELEVOLVE_RUNS: runsDirectory },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let log = "";
      optimize.stdout!.on("data", (chunk) => (log += chunk));
      optimize.stderr!.on("data", (chunk) => (log += chunk));
      const finished = new Promise<number | null>((resolveExit) => optimize.on("exit", (code) => resolveExit(code)));
      try {
        const page = await browser.context.newPage();
        await page.goto(dashboard.url);
        // The run appears while it is running, and its count moves past the seed while the page is open.
        const running = page.locator('tr[data-status="running"]');
        await running.waitFor({ timeout: 120000 });
        const id = (await running.getAttribute("data-run-id"))!;
        await page.locator(`tr[data-run-id="${id}"][data-status="running"]:not([data-candidates="0"]):not([data-candidates="1"])`).waitFor({ timeout: 240000 });
        expect(await finished).toBe(0);
        await page.locator(`tr[data-run-id="${id}"][data-status="completed"]`).waitFor({ timeout: 30000 });

        expect(listRunIds(runsDirectory)).toEqual([id]);
        const db = RunDatabase.open(join(runsDirectory, id));
        const stored = db.candidates();
        const best = db.run().bestCandidateId!;
        db.close();
        await page.goto(`${dashboard.url}#/runs/${id}/lineage/${best}`);
        await page.locator(`[data-testid="lineage"][data-node-count="${stored.length}"]`).waitFor({ timeout: 30000 });
        const panel = page.locator(`[data-testid="candidate"][data-candidate-id="${best}"]`);
        await panel.getByTestId("timings").waitFor({ timeout: 30000 });
        await panel.getByTestId("tab-diff").click();
        await panel.locator('[data-testid="diff"], [data-testid="diff-none"]').first().waitFor();
        await panel.getByTestId("tab-prompt").click();
        await panel.getByTestId("prompt-none").waitFor(); // the autotune operator writes no prompt
        mkdirSync(screenshots, { recursive: true });
        await panel.getByTestId("tab-diff").click();
        await page.screenshot({ path: join(screenshots, "dashboard-real-autotune-run.png") });
      } finally {
        if (optimize.exitCode === null) optimize.kill("SIGTERM");
        await finished.catch(() => undefined);
        await browser.close();
        await dashboard.stop();
        rmSync(runsDirectory, { recursive: true, force: true });
        if (process.env.DASHBOARD_DEBUG) process.stdout.write(log);
      }
    },
    420000,
  );
});
