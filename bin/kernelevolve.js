#!/usr/bin/env node
// Runs the CLI: the bundled build in dist/cli-bundle (`npm run build`, which scripts/setup.sh runs) when it is there
// and current; in a source checkout without one, or with sources edited since, the TypeScript through tsx.
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const built = join(root, "dist", "cli-bundle", "main.js");
const SOURCE_FOLDERS = ["core", "platforms", "retrieval", "tools", "agents", "graphs", "app", "cli", "dashboard/server"];

/** Newest modification time of the TypeScript sources (0 in an installed package, which ships none). */
function newestSource() {
  let newest = existsSync(join(root, "index.ts")) ? statSync(join(root, "index.ts")).mtimeMs : 0;
  const visit = (folder) => {
    if (!existsSync(folder)) return;
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const folder of SOURCE_FOLDERS) visit(join(root, folder));
  return newest;
}

const buildIsCurrent = existsSync(built) && statSync(built).mtimeMs >= newestSource();
if (buildIsCurrent) {
  const { runFromProcess } = await import(pathToFileURL(built).href);
  await runFromProcess(process.argv.slice(2));
} else {
  const reason = existsSync(built) ? "dist/ is older than the sources" : "no build in dist/";
  process.stderr.write(`kernelevolve: ${reason}; running the TypeScript sources through tsx (npm run build for a fast start)\n`);
  // In this very process through tsx's loader, not a child: a signal sent to `kernelevolve`
  // (Ctrl-C, SIGTERM, SIGKILL) reaches the process that owns the run, and nothing is orphaned.
  const { register } = await import("tsx/esm/api");
  register();
  const { runFromProcess } = await import(pathToFileURL(join(root, "cli", "main.ts")).href);
  await runFromProcess(process.argv.slice(2));
}
