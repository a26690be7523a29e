/** `npm run contract:schemas`: writes the contract files of contract/schemas.ts. */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { contractFiles } from "./schemas.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
for (const [path, text] of Object.entries(contractFiles(root))) {
  const target = join(root, path);
  const unchanged = existsSync(target) && readFileSync(target, "utf8") === text;
  if (!unchanged) {
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text);
  }
  console.log(`${unchanged ? "unchanged" : "wrote"} ${path}`);
}
