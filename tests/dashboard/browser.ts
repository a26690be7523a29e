import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";

/** Helpers shared by the dashboard's browser tests and its benchmark. */

export const CHROMIUM = process.env.KERNELEVOLVE_CHROMIUM ?? "/usr/bin/chromium";

/** Builds the client bundle when dashboard/dist is missing (scripts/setup.sh normally has built it). */
export function ensureDashboardBuilt(root = process.cwd()): void {
  if (existsSync(join(root, "dashboard", "dist", "index.html"))) return;
  const built = spawnSync("npm", ["run", "--silent", "build:dashboard"], { cwd: root, stdio: "inherit" });
  if (built.status !== 0) throw new Error("npm run build:dashboard failed");
}

/** Debian's headless Chromium with a fresh profile, driven by playwright-core (no browser download). */
export async function launchChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (bash scripts/setup.sh does)`);
  const profile = mkdtempSync(join(tmpdir(), "kernelevolve-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Starts `kernelevolve dashboard` as a real process and resolves with the address it prints. */
export async function startDashboardProcess(args: string[], root = process.cwd()): Promise<{ url: string; output: () => string; child: ChildProcess; stop(): Promise<number | null> }> {
  const child = spawn(process.execPath, ["--import", "tsx", join(root, "cli", "main.ts"), "dashboard", ...args], {
    cwd: root,
    env: { ...process.env, FORCE_COLOR: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the dashboard did not start within 60 s:\n${output}`)), 60000);
    const check = () => {
      const match = /open (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout!.on("data", check);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the dashboard exited (${code}) before starting:\n${output}`));
    });
  });
  return {
    url,
    output: () => output,
    child,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        child.once("exit", (code) => resolve(code));
        child.kill("SIGTERM");
      }),
  };
}
